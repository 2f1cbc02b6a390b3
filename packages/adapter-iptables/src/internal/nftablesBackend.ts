/**
 * The nftables backend: reads the SDK's table with `nft -j list table` and applies every
 * change as one `nft -f -` script, which the kernel commits as a single transaction
 * (fence swap, removals, additions, and the lazy creation of a prefix map all together).
 *
 * @since 0.1.0
 */
import type { Topology } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { CommandRunner } from "../CommandRunner.ts"
import type { Backend, Change, Snapshot } from "./backend.ts"
import { firstLines, gatewayError, runRaw } from "./errors.ts"
import {
  addPath,
  addPrefixMap,
  baseScript,
  familyOf,
  type NftSettings,
  parseListing,
  removePath,
  swapRevision,
  type TableState
} from "./nftablesLayout.ts"
import { baseTag } from "./tags.ts"

interface Token {
  readonly exists: boolean
  readonly rewriteBase: boolean
  readonly nonce: number | undefined
  readonly prefixes: ReadonlyArray<number>
}

const isMissing = (stderr: string) => /No such file or directory/.test(stderr)

/** Whether the base rules match the region and settings. */
const baseIsCurrent = (state: TableState, region: Topology.Region, settings: NftSettings): boolean => {
  const tag = baseTag(region, settings)
  const comments = (chain: string) => state.ruleComments.filter((rule) => rule.chain === chain).map((rule) => rule.comment)
  const forward = comments("forward")
  const postrouting = comments("postrouting")
  const prerouting = comments("prerouting")
  return (
    forward.length === 2 &&
    forward.every((comment) => comment === tag) &&
    postrouting.length === (settings.snat ? 1 : 0) &&
    postrouting.every((comment) => comment === tag) &&
    prerouting.length === state.prefixes.length &&
    state.prefixes.every((prefix) => prerouting.includes(`${tag}:${prefix}`))
  )
}

/** Builds the nftables backend over a command runner. */
export const make = (runner: CommandRunner["Service"], settings: NftSettings): Backend => {
  const list = (region: Topology.Region, what: "table" | "revs") =>
    runRaw(
      runner,
      what === "table"
        ? ["nft", "-j", "list", "table", familyOf(region), settings.table]
        : ["nft", "-j", "list", "set", familyOf(region), settings.table, "revs"]
    ).pipe(
      Effect.flatMap((result) => {
        if (result.exitCode !== 0) {
          return isMissing(result.stderr)
            ? Effect.succeed(undefined)
            : Effect.fail(gatewayError(runner.target, "Unknown", `nft list exited ${result.exitCode}: ${firstLines(result.stderr)}`))
        }
        const state = parseListing(result.stdout)
        return state
          ? Effect.succeed(state)
          : Effect.fail(gatewayError(runner.target, "Unknown", "nft printed a listing that does not decode"))
      })
    )

  const load = Effect.fnUntraced(function* (region: Topology.Region) {
    const state = yield* list(region, "table")
    if (state === undefined) {
      const token: Token = { exists: false, rewriteBase: false, nonce: undefined, prefixes: [] }
      return { revision: 0, paths: [], token } satisfies Snapshot
    }
    const token: Token = {
      exists: true,
      rewriteBase: !baseIsCurrent(state, region, settings),
      nonce: state.nonce,
      prefixes: state.prefixes
    }
    return { revision: state.revision, paths: state.paths, token } satisfies Snapshot
  })

  const revision = (region: Topology.Region) => list(region, "revs").pipe(Effect.map((state) => state?.revision ?? 0))

  const commit = Effect.fnUntraced(function* (region: Topology.Region, snapshot: Snapshot, change: Change, now: number) {
    const token = snapshot.token as Token
    const nonce = yield* Random.nextIntBetween(1, 2_147_483_647)
    const revisionNow = Math.max(snapshot.revision, change.revision)
    const added = change.add
    const needsMap = added !== undefined && !token.prefixes.includes(added.prefixLength)
    const script = [
      ...(!token.exists
        ? baseScript(region, settings, true, [])
        : token.rewriteBase
          ? baseScript(region, settings, false, token.prefixes)
          : []),
      ...swapRevision(region, settings, token.nonce, revisionNow, nonce),
      ...change.remove.flatMap((path) => removePath(region, settings, path)),
      ...(added && needsMap ? addPrefixMap(region, settings, added.prefixLength) : []),
      ...(added ? addPath(region, settings, added, added.stopAt - now) : [])
    ]
    const result = yield* runRaw(runner, ["nft", "-f", "-"], { stdin: `${script.join("\n")}\n` })
    if (result.exitCode !== 0) return { _tag: "Conflict", message: firstLines(result.stderr) } as const
    const removedKeys = new Set(change.remove.map((path) => `${path.grantId}|${path.publicPort}`))
    const paths = snapshot.paths.filter((path) => !removedKeys.has(`${path.grantId}|${path.publicPort}`))
    if (added) paths.push({ ...added, dnat: true, forward: true })
    const next: Token = {
      exists: true,
      rewriteBase: false,
      nonce,
      prefixes: added && needsMap ? [...token.prefixes, added.prefixLength] : token.prefixes
    }
    return { _tag: "Committed", snapshot: { revision: revisionNow, paths, token: next } } as const
  })

  return { name: "nftables", load, revision, commit }
}
