/**
 * The `RegionalGateway` port on Linux netfilter, with two backends behind one API:
 *
 * - `iptables`: own chains (`TA-DNAT`, `TA-SNAT`, `TA-FORWARD`, `TA-GRANTS`, `TA-META`,
 *   one jump each from the built-in chains), rules tagged `ta:<grant>`, stop times as
 *   `-m time --datestop` (UTC, whole seconds; the exact stop time rides in a second comment)
 *   on the DNAT rule and on the forward rule,
 *   every change one `iptables-restore --noflush` batch;
 * - `nftables`: an SDK-owned table with per-prefix-length hash maps whose elements carry a
 *   kernel `timeout` and a `ta:<grant>` comment, every change one `nft -f -` transaction.
 *
 * Commands go through a {@link CommandRunner} (local, or SSH to the regional server).
 *
 * **The regional fence** is recorded on the server, inside the firewall itself (the name of
 * a `TA-R<revision>.<nonce>` chain per table, or the element of the `revs` set), and every
 * batch renames or deletes the exact fence artifact it read while writing the new one: a batch prepared from a stale view fails as a whole and
 * is retried from a fresh listing. A change whose revision is older than the recorded one
 * fails with `StaleRevision`.
 *
 * Validation happens before any command: the path must decode as a `NatPath`, its source be a
 * canonical CIDR allowed by the policy, its target a canonical address of the same family
 * as the source and the region's tunnel address, its public port inside the region's range,
 * and its stop time in the future and within iptables' date range (`maxStopAt`); otherwise `Rejected`.
 *
 * `close` removes every artifact tagged with the grant, records the revision, then deletes
 * the conntrack entries of the DNATed flows of the port (unless another grant now holds
 * it), so live sessions end with the grant.
 *
 * The adapter keeps an in-memory copy of the last state it read or wrote per region, used
 * only to prepare batches; every decision that would skip a write ("already open",
 * "nothing to close", "port held") is confirmed by a fresh listing first.
 *
 * @since 0.1.0
 */
import { Cidr, Ids, RegionalGateway, type TargetError, type Topology } from "@transient-access/core"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { CommandRunner } from "./CommandRunner.ts"
import type { Backend, Change, Snapshot } from "./internal/backend.ts"
import * as NetfilterSettings from "./internal/config.ts"
import { cutFlows } from "./internal/conntrack.ts"
import { gatewayError } from "./internal/errors.ts"
import * as IptablesBackend from "./internal/iptablesBackend.ts"
import * as NftablesBackend from "./internal/nftablesBackend.ts"
import { isSamePath, toNatPath, validate, validateRegion, type ValidationOptions, type ValidPath } from "./internal/path.ts"

/**
 * Options of the gateway.
 *
 * @category models
 * @since 0.1.0
 */
export interface NetfilterOptions {
  readonly backend: "iptables" | "nftables"
  /** iptables chain name prefix, at most 8 characters (default `TA`: `TA-DNAT`, `TA-GRANTS`, …). */
  readonly chainPrefix?: string
  /** nftables table name (default `transient_access`). */
  readonly table?: string
  /** The server's public address: when set, DNAT and conntrack cuts match only it. */
  readonly publicAddress?: string
  /** Source-NAT forwarded flows to the region's tunnel address (default `true`). */
  readonly snat?: boolean
  /** Which source ranges are accepted (default core's `Cidr.defaultPolicy`). */
  readonly cidrPolicy?: Cidr.CidrPolicy
  /** Batches tried per change before failing `Unknown` (default 5). */
  readonly commitAttempts?: number
}

type Decision =
  | { readonly _tag: "Done" }
  | { readonly _tag: "Reload" }
  | { readonly _tag: "Fail"; readonly reason: TargetError.TargetErrorReason; readonly message: string }
  | { readonly _tag: "Commit"; readonly change: Change }

const done: Decision = { _tag: "Done" }
const reload: Decision = { _tag: "Reload" }
const failWith = (reason: TargetError.TargetErrorReason, message: string): Decision => ({ _tag: "Fail", reason, message })
const commitChange = (change: Change): Decision => ({ _tag: "Commit", change })

const isGrantId = Schema.is(Ids.GrantId)

const stale = (revision: number, snapshot: Snapshot): Decision | undefined =>
  revision < snapshot.revision
    ? failWith("StaleRevision", `revision ${revision} is older than the recorded revision ${snapshot.revision}`)
    : undefined

/** Checks the adapter's own options. */
const checkOptions = (options: NetfilterOptions): string | undefined => {
  if (options.chainPrefix !== undefined && !/^[A-Za-z][A-Za-z0-9_]{0,7}$/.test(options.chainPrefix)) {
    return "chainPrefix must be 1-8 letters, digits or _ starting with a letter"
  }
  if (options.table !== undefined && !/^[a-z][a-z0-9_]{0,31}$/.test(options.table)) {
    return "table must be 1-32 lower-case letters, digits or _ starting with a letter"
  }
  if (options.publicAddress !== undefined && Cidr.canonicalAddress(options.publicAddress) !== options.publicAddress) {
    return "publicAddress must be a canonical IPv4 or IPv6 address"
  }
  return undefined
}

/**
 * Builds the gateway over the {@link CommandRunner} in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: NetfilterOptions) {
  const runner = yield* CommandRunner
  const target = `${options.backend}:${runner.target}`
  const invalid = checkOptions(options)
  if (invalid !== undefined) return yield* gatewayError(target, "Rejected", `invalid options: ${invalid}`)
  const snat = options.snat ?? true
  const validation: ValidationOptions = {
    policy: options.cidrPolicy ?? Cidr.defaultPolicy,
    publicAddress: options.publicAddress
  }
  const backend: Backend =
    options.backend === "iptables"
      ? IptablesBackend.make(runner, { chainPrefix: options.chainPrefix ?? "TA", publicAddress: options.publicAddress, snat })
      : NftablesBackend.make(runner, { table: options.table ?? "transient_access", publicAddress: options.publicAddress, snat })
  const attempts = options.commitAttempts ?? 5
  const lock = yield* Semaphore.make(1)
  const cache = new Map<string, Snapshot>()

  const checkRegion = (region: Topology.Region) => {
    const checked = validateRegion(region, validation)
    return Result.isFailure(checked) ? Effect.fail(gatewayError(target, "Rejected", checked.failure)) : Effect.succeed(checked.success)
  }

  const load = (region: Topology.Region) =>
    backend.load(region).pipe(Effect.tap((snapshot) => Effect.sync(() => cache.set(region.id, snapshot))))

  /** Decides on the cached or a fresh view and commits, reloading after every conflict. */
  const converge = Effect.fnUntraced(function* (region: Topology.Region, decide: (snapshot: Snapshot, fresh: boolean) => Decision) {
    let mustReload = false
    let lastConflict = ""
    for (let attempt = 0; attempt < attempts; attempt++) {
      const cached = mustReload ? undefined : cache.get(region.id)
      const snapshot = cached ?? (yield* load(region))
      const decision = decide(snapshot, cached === undefined)
      switch (decision._tag) {
        case "Done":
          return snapshot
        case "Fail":
          return yield* gatewayError(target, decision.reason, decision.message)
        case "Reload":
          mustReload = true
          attempt--
          continue
        case "Commit": {
          const now = yield* Clock.currentTimeMillis
          const outcome = yield* backend.commit(region, snapshot, decision.change, now)
          if (outcome._tag === "Committed") {
            cache.set(region.id, outcome.snapshot)
            return outcome.snapshot
          }
          cache.delete(region.id)
          mustReload = true
          lastConflict = outcome.message
        }
      }
    }
    return yield* gatewayError(target, "Unknown", `change not applied after ${attempts} attempts: ${lastConflict}`)
  })

  const decideOpen =
    (path: ValidPath, revision: number) =>
    (snapshot: Snapshot, fresh: boolean): Decision => {
      const tooOld = stale(revision, snapshot)
      if (tooOld) return tooOld
      const other = snapshot.paths.find((stored) => stored.publicPort === path.publicPort && stored.grantId !== path.grantId)
      if (other) return fresh ? failWith("Rejected", `port ${path.publicPort} is held by grant ${other.grantId}`) : reload
      const mine = snapshot.paths.filter((stored) => stored.grantId === path.grantId)
      const [only] = mine
      if (mine.length === 1 && only !== undefined && isSamePath(only, path)) {
        if (!fresh) return reload
        return revision > snapshot.revision ? commitChange({ revision, add: undefined, remove: [] }) : done
      }
      return commitChange({ revision, add: path, remove: mine })
    }

  const open = Effect.fn("RegionalGateway.open")(function* (region: Topology.Region, input: RegionalGateway.NatPath, revision: number) {
    yield* checkRegion(region)
    const now = yield* Clock.currentTimeMillis
    const checked = validate(region, input, now, validation)
    if (Result.isFailure(checked)) return yield* gatewayError(target, "Rejected", checked.failure)
    if (!Number.isSafeInteger(revision) || revision < 0)
      return yield* gatewayError(target, "Rejected", "revision must be a non-negative integer")
    yield* Semaphore.withPermit(lock)(converge(region, decideOpen(checked.success, revision)))
  })

  const close = Effect.fn("RegionalGateway.close")(function* (
    region: Topology.Region,
    path: { readonly grantId: Ids.GrantId; readonly publicPort: number },
    revision: number
  ) {
    const family = yield* checkRegion(region)
    if (!isGrantId(path.grantId)) return yield* gatewayError(target, "Rejected", "malformed grant id")
    if (!Number.isInteger(path.publicPort) || path.publicPort < 1 || path.publicPort > 65_535) {
      return yield* gatewayError(target, "Rejected", `public port ${path.publicPort} is out of range`)
    }
    if (!Number.isSafeInteger(revision) || revision < 0)
      return yield* gatewayError(target, "Rejected", "revision must be a non-negative integer")
    const ports = new Set<number>([path.publicPort])
    yield* Semaphore.withPermit(lock)(
      Effect.gen(function* () {
        const final = yield* converge(region, (snapshot, fresh) => {
          const tooOld = stale(revision, snapshot)
          if (tooOld) return tooOld
          const mine = snapshot.paths.filter((stored) => stored.grantId === path.grantId)
          for (const stored of mine) ports.add(stored.publicPort)
          if (mine.length > 0) return commitChange({ revision, add: undefined, remove: mine })
          if (!fresh) return reload
          return revision > snapshot.revision ? commitChange({ revision, add: undefined, remove: [] }) : done
        })
        const held = new Set(final.paths.map((stored) => stored.publicPort))
        for (const port of ports) {
          if (!held.has(port)) yield* cutFlows(runner, family, port, options.publicAddress)
        }
      })
    )
  })

  const list = Effect.fn("RegionalGateway.list")(function* (region: Topology.Region) {
    yield* checkRegion(region)
    const snapshot = yield* Semaphore.withPermit(lock)(load(region))
    return snapshot.paths.map((stored) => toNatPath(region, stored))
  })

  const revisionOf = Effect.fn("RegionalGateway.revision")(function* (region: Topology.Region) {
    yield* checkRegion(region)
    return yield* backend.revision(region)
  })

  return RegionalGateway.RegionalGateway.of({ open, close, list, revision: revisionOf })
})

/**
 * The gateway as a layer over the {@link CommandRunner} in context (`CommandRunner.layerLocal`
 * or `SshCommandRunner.layer`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: NetfilterOptions
): Layer.Layer<RegionalGateway.RegionalGateway, TargetError.RegionalGatewayError, CommandRunner> =>
  Layer.effect(RegionalGateway.RegionalGateway, make(options))

/**
 * The gateway configured from Effect `Config` (the environment by default), with its
 * command runner: local, or over SSH with a pinned host key.
 *
 * | key | meaning |
 * | --- | --- |
 * | `TA_NETFILTER_BACKEND` | `iptables` or `nftables` (default `nftables`) |
 * | `TA_NETFILTER_PUBLIC_ADDRESS` | only DNAT/cut flows to this address (optional) |
 * | `TA_NETFILTER_SNAT` | source-NAT to the region's tunnel address (default `true`) |
 * | `TA_NETFILTER_SSH_HOST` | run the commands on this host over SSH (unset: locally) |
 * | `TA_NETFILTER_SSH_PORT`, `TA_NETFILTER_SSH_USER` | SSH port (22) and user (`root`) |
 * | `TA_NETFILTER_SSH_HOST_KEY` | the server's pinned key, `SHA256:…` (required with SSH) |
 * | `TA_NETFILTER_SSH_PRIVATE_KEY` | private key text (`Redacted`); or `SSH_AUTH_SOCK` for an agent |
 * | `TA_NETFILTER_SUDO` | prefix every command with `sudo -n` (default `false`) |
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<RegionalGateway.RegionalGateway, TargetError.RegionalGatewayError | Config.ConfigError> =
  Layer.unwrap(Effect.map(NetfilterSettings.select, ({ options, runner }) => layer(options).pipe(Layer.provide(runner))))
