/**
 * The iptables backend: reads the layout with `iptables-save` (one process per table) and
 * applies every change as one `iptables-restore --noflush` batch (one process), each table's
 * part guarded by the compare-and-set of its fence rule. IPv6 regions use the `ip6tables`
 * programs with the same layout.
 *
 * @since 0.1.0
 */
import type { Topology } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { CommandRunner } from "../CommandRunner.ts"
import type { Backend, Change, Snapshot } from "./backend.ts"
import { runChecked, runRaw } from "./errors.ts"
import {
  type Artifact,
  baseRules,
  chainNames,
  deletion,
  dnatRule,
  fenceLines,
  forwardRule,
  type LayoutSettings,
  parseDnat,
  parseDump,
  parseFence,
  parseForward,
  parseMetaListing,
  revisionChain,
  type TableDump
} from "./iptablesLayout.ts"
import type { StoredPath } from "./path.ts"

/** Settings of the iptables backend. */
export interface IptablesSettings {
  readonly chainPrefix: string
  readonly publicAddress: string | undefined
  readonly snat: boolean
}

type Table = "nat" | "filter"

interface Token {
  /** The fence chain of each table. */
  readonly meta: Readonly<Record<Table, string | undefined>>
  readonly repairs: Readonly<Record<Table, ReadonlyArray<string>>>
  /** Saved lines of each path, by `grantId|port`. */
  readonly lines: ReadonlyMap<string, Readonly<Record<Table, ReadonlyArray<string>>>>
}

const key = (path: { readonly grantId: string; readonly publicPort: number }) => `${path.grantId}|${path.publicPort}`

const programs = (region: Topology.Region) =>
  region.tunnelAddress.includes(":")
    ? { save: "ip6tables-save", restore: "ip6tables-restore", list: "ip6tables" }
    : { save: "iptables-save", restore: "iptables-restore", list: "iptables" }

/** Lines that bring a table's base rules to the expected ones. */
const repairsFor = (
  dump: TableDump,
  expected: { readonly hooks: ReadonlyArray<string>; readonly own: ReadonlyArray<string> },
  ownChain: string,
  chains: ReadonlyArray<string>,
  jumpTargets: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const lines: Array<string> = []
  for (const chain of chains) if (!dump.chains.has(chain)) lines.push(`-N ${chain}`)
  const isOurJump = (line: string) => jumpTargets.some((target) => line.endsWith(` -j ${target}`))
  const builtinJumps = dump.rules.filter((line) => !chains.includes(line.split(" ")[1] ?? "") && isOurJump(line))
  for (const line of builtinJumps) if (!expected.hooks.includes(line)) lines.push(deletion(line))
  for (const hook of expected.hooks) {
    if (!builtinJumps.includes(hook)) lines.push(`-I ${hook.slice(3).replace(/^(\S+)/, "$1 1")}`)
  }
  const own = dump.rules.filter((line) => line.split(" ")[1] === ownChain)
  if (own.length !== expected.own.length || own.some((line, index) => line !== expected.own[index])) {
    lines.push(`-F ${ownChain}`, ...expected.own)
  }
  return lines
}

const mergeArtifacts = (dnat: ReadonlyArray<Artifact>, forward: ReadonlyArray<Artifact>) => {
  const paths = new Map<string, StoredPath>()
  const lines = new Map<string, Record<Table, Array<string>>>()
  const linesOf = (id: string) => {
    const existing = lines.get(id)
    if (existing) return existing
    const created: Record<Table, Array<string>> = { nat: [], filter: [] }
    lines.set(id, created)
    return created
  }
  for (const artifact of dnat) {
    const id = key(artifact.path)
    const previous = paths.get(id)
    paths.set(id, { ...artifact.path, forward: previous?.forward ?? false })
    linesOf(id).nat.push(artifact.line)
  }
  for (const artifact of forward) {
    const id = key(artifact.path)
    const previous = paths.get(id)
    paths.set(id, previous ? { ...previous, forward: true } : artifact.path)
    linesOf(id).filter.push(artifact.line)
  }
  return { paths: [...paths.values()], lines }
}

/** Builds the iptables backend over a command runner. */
export const make = (runner: CommandRunner["Service"], settings: IptablesSettings): Backend => {
  const names = chainNames(settings.chainPrefix)
  const layout: LayoutSettings = { names, publicAddress: settings.publicAddress, snat: settings.snat }

  const dump = (region: Topology.Region, table: Table) =>
    runChecked(runner, [programs(region).save, "-t", table]).pipe(Effect.map((result) => parseDump(result.stdout)))

  const load = Effect.fnUntraced(function* (region: Topology.Region) {
    const [nat, filter] = yield* Effect.all([dump(region, "nat"), dump(region, "filter")], { concurrency: 2 })
    const natMeta = parseFence(nat, names)
    const filterMeta = parseFence(filter, names)
    const expected = baseRules(region, layout)
    const merged = mergeArtifacts(parseDnat(nat, names), parseForward(filter, names))
    const token: Token = {
      meta: { nat: natMeta?.chain, filter: filterMeta?.chain },
      repairs: {
        nat: repairsFor(nat, expected.nat, names.snat, [names.dnat, names.snat, names.meta], [names.dnat, names.snat]),
        filter: repairsFor(filter, expected.filter, names.forward, [names.forward, names.grants, names.meta], [names.forward])
      },
      lines: merged.lines
    }
    return { revision: Math.max(natMeta?.revision ?? 0, filterMeta?.revision ?? 0), paths: merged.paths, token } satisfies Snapshot
  })

  const revision = Effect.fnUntraced(function* (region: Topology.Region) {
    const read = (table: Table) =>
      runRaw(runner, [programs(region).list, "-t", table, "-S", names.meta]).pipe(
        Effect.map((result) => (result.exitCode === 0 ? parseMetaListing(result.stdout, names) : 0))
      )
    const [nat, filter] = yield* Effect.all([read("nat"), read("filter")], { concurrency: 2 })
    return Math.max(nat, filter)
  })

  const commit = Effect.fnUntraced(function* (region: Topology.Region, snapshot: Snapshot, change: Change, _now: number) {
    const token = snapshot.token as Token
    const nonce = yield* Random.nextIntBetween(1, 2_147_483_647)
    const revisionNow = Math.max(snapshot.revision, change.revision)
    const added = change.add
    const newLines: Record<Table, ReadonlyArray<string>> = added
      ? { nat: [dnatRule(added, layout)], filter: [forwardRule(added, layout)] }
      : { nat: [], filter: [] }
    const fence = revisionChain(names, revisionNow, nonce)
    const section = (table: Table): string => {
      const previous = token.meta[table]
      const removed = change.remove.flatMap((path) => token.lines.get(key(path))?.[table] ?? [])
      return [
        `*${table}`,
        ...token.repairs[table],
        ...fenceLines(names, previous, fence),
        ...removed.map(deletion),
        ...newLines[table],
        "COMMIT",
        ""
      ].join("\n")
    }
    // Opening writes the forward rule before the DNAT rule; closing removes DNAT first.
    const order: ReadonlyArray<Table> = change.remove.length === 0 ? ["filter", "nat"] : ["nat", "filter"]
    const result = yield* runRaw(runner, [programs(region).restore, "--noflush"], { stdin: order.map(section).join("") })
    if (result.exitCode !== 0) return { _tag: "Conflict", message: result.stderr.trim() } as const

    const removedKeys = new Set(change.remove.map(key))
    const lines = new Map([...token.lines].filter(([id]) => !removedKeys.has(id)))
    const paths = snapshot.paths.filter((path) => !removedKeys.has(key(path)))
    if (added) {
      lines.set(key(added), newLines)
      paths.push({ ...added, dnat: true, forward: true })
    }
    const next: Token = { meta: { nat: fence, filter: fence }, repairs: { nat: [], filter: [] }, lines }
    return { _tag: "Committed", snapshot: { revision: revisionNow, paths, token: next } } as const
  })

  return { name: "iptables", load, revision, commit }
}
