/**
 * The in-memory regional gateway: the embedded default's stand-in for a regional server,
 * and the substrate of the model-based tests.
 *
 * It keeps real state per region — the NAT paths keyed by grant id and the recorded
 * revision — and enforces the same rules as the iptables and relay adapters:
 * - **the fence**: a change whose revision is older than the recorded one fails with
 *   `StaleRevision` and changes nothing; an equal revision is allowed; the recorded revision
 *   is the maximum applied;
 * - `Rejected` (and nothing changed) for invalid input: a source that is not canonical CIDR
 *   text (`Cidr.parse` with `allowAnySource`), ports out of range (public ports also outside
 *   the region's range), a target address that is not canonical, a path for another
 *   region, or a second grant on an occupied public port;
 * - `open` is idempotent for the same grant; a changed spec replaces the path (a new
 *   `stopAt` alone keeps established flows, any other change cuts them); `close` is
 *   idempotent, removes the grant's path and cuts its established flows;
 * - `list` returns every path, including those past their stop time.
 *
 * `MemoryRegionalGatewayControl` models the kernel (`connect` / `flowAlive`: a path forwards
 * new flows from its source while `now < stopAt`, and established flows die at `stopAt` or
 * when the path is closed — the filter rule's `--datestop` and `conntrack -D`) and injects
 * faults (`setOffline`, `failNext`). The kernel keeps working while a region is offline:
 * offline means the control channel is down. Time comes from Effect's `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Cidr from "../Cidr.ts"
import type { GrantId, RegionId } from "../Ids.ts"
import { RegionalGateway, validatePath } from "../RegionalGateway.ts"
import type { NatPath } from "../RegionalGateway.ts"
import { RegionalGatewayError } from "../TargetError.ts"
import type { TargetErrorReason } from "../TargetError.ts"
import type { Region } from "../Topology.ts"
import { makeBoundedHistory } from "../internal/boundedHistory.ts"

/**
 * One applied change, as the control service records it.
 *
 * @category models
 * @since 0.1.0
 */
export interface RegionalChange {
  readonly op: "open" | "close"
  readonly regionId: RegionId
  readonly grantId: GrantId
  readonly publicPort: number
  readonly revision: number
  /** `Clock` time at which the change was applied. */
  readonly at: number
  /** `open`: a path was created or replaced; `close`: a path was removed. */
  readonly changed: boolean
}

/**
 * What the kernel did with a new connection.
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectResult =
  | { readonly forwarded: true; readonly flowId: string; readonly grantId: GrantId }
  | { readonly forwarded: false; readonly reason: "NoPath" | "SourceNotAllowed" | "Expired" }

/**
 * Options of an injected failure.
 *
 * @category models
 * @since 0.1.0
 */
export interface FailOptions {
  /**
   * Apply the operation first, then report the failure (a lost reply: "the change may
   * have landed"). Default false: fail before touching anything.
   */
  readonly afterApply?: boolean
}

/**
 * Kernel model and fault injection for the in-memory regional gateway.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryRegionalGatewayControl extends Context.Service<
  MemoryRegionalGatewayControl,
  {
    /** While offline, every gateway operation on the region fails `Unreachable`. */
    readonly setOffline: (regionId: RegionId, offline: boolean) => Effect.Effect<void>
    /** The next `count` gateway operations on the region fail with `reason`. */
    readonly failNext: (regionId: RegionId, count: number, reason: TargetErrorReason, options?: FailOptions) => Effect.Effect<void>
    /** Every applied open and close, oldest first. */
    readonly history: Effect.Effect<ReadonlyArray<RegionalChange>>
    /** The region's paths as the server holds them (ignores offline and injected failures). */
    readonly paths: (regionId: RegionId) => Effect.Effect<ReadonlyArray<NatPath>>
    /** The region's recorded revision (ignores offline and injected failures). */
    readonly recordedRevision: (regionId: RegionId) => Effect.Effect<number>
    /**
     * A new connection from `sourceAddress` to `publicPort`: forwarded when a path holds the
     * port, the source lies in its CIDR and `now < stopAt`; then registered as an established flow.
     */
    readonly connect: (regionId: RegionId, publicPort: number, sourceAddress: string) => Effect.Effect<ConnectResult>
    /** Whether an established flow still passes: its path still exists, `now < stopAt`, and it was not cut. */
    readonly flowAlive: (flowId: string) => Effect.Effect<boolean>
  }
>()("@transient-access/core/MemoryRegionalGatewayControl") {}

interface PathEntry {
  path: NatPath
  readonly flows: Set<string>
}

interface RegionState {
  readonly paths: Map<GrantId, PathEntry>
  revision: number
  offline: boolean
  failures: Array<{ readonly reason: TargetErrorReason; readonly afterApply: boolean }>
}

interface Flow {
  readonly regionId: RegionId
  readonly entry: PathEntry
  cut: boolean
}

const isPort = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65_535

/** Same port, source and target: established flows survive a change of `stopAt` only. */
const sameRoute = (left: NatPath, right: NatPath): boolean =>
  left.publicPort === right.publicPort &&
  left.source === right.source &&
  left.target.address === right.target.address &&
  left.target.port === right.target.port

/**
 * Options of the in-memory gateway.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How many `history` entries to keep, oldest dropped first (default 100,000). */
  readonly historyLimit?: number
}

/**
 * Builds an in-memory regional gateway and its control, sharing one state.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<{
  readonly gateway: RegionalGateway["Service"]
  readonly control: MemoryRegionalGatewayControl["Service"]
}> =>
  Effect.sync(() => {
    const regions = new Map<RegionId, RegionState>()
    const flows = new Map<string, Flow>()
    const history = makeBoundedHistory<RegionalChange>(options.historyLimit)
    const remember = history.remember
    let flowCounter = 0

    const stateOf = (regionId: RegionId): RegionState => {
      const existing = regions.get(regionId)
      if (existing !== undefined) return existing
      const created: RegionState = { paths: new Map(), revision: 0, offline: false, failures: [] }
      regions.set(regionId, created)
      return created
    }

    const fail = (region: Region, reason: TargetErrorReason, message: string) =>
      new RegionalGatewayError({ reason, message, target: `region:${region.id}` })

    const cutFlows = (entry: PathEntry): void => {
      for (const flowId of entry.flows) {
        const flow = flows.get(flowId)
        if (flow !== undefined) flow.cut = true
      }
      entry.flows.clear()
    }

    /**
     * Runs one gateway operation atomically at the current `Clock` time: offline and
     * injected failures first, then `apply`, which returns its result or fails.
     */
    const operate = <A>(
      region: Region,
      apply: (state: RegionState, now: number) => Result.Result<A, RegionalGatewayError>
    ): Effect.Effect<A, RegionalGatewayError> =>
      Clock.clockWith((clock) =>
        Effect.suspend(() => {
          const state = stateOf(region.id)
          if (state.offline) return Effect.fail(fail(region, "Unreachable", "region is offline"))
          const injected = state.failures.shift()
          if (injected !== undefined && !injected.afterApply) {
            return Effect.fail(fail(region, injected.reason, `injected ${injected.reason}`))
          }
          const result = apply(state, clock.currentTimeMillisUnsafe())
          if (Result.isFailure(result)) return Effect.fail(result.failure)
          if (injected !== undefined) {
            return Effect.fail(fail(region, injected.reason, `injected ${injected.reason} after the change was applied`))
          }
          return Effect.succeed(result.success)
        })
      )

    const checkRevision = (region: Region, state: RegionState, revision: number): RegionalGatewayError | undefined => {
      if (!Number.isInteger(revision) || revision < 0) {
        return fail(region, "Rejected", `revision must be a non-negative integer, got ${revision}`)
      }
      if (revision < state.revision) {
        return fail(region, "StaleRevision", `revision ${revision} is older than the recorded ${state.revision}`)
      }
      return undefined
    }

    const open = Effect.fn("MemoryRegionalGateway.open")(function* (region: Region, path: NatPath, revision: number) {
      return yield* operate(region, (state, now) => {
        const invalid = validatePath(region, path)
        if (invalid !== undefined) return Result.fail(fail(region, "Rejected", invalid))
        const stale = checkRevision(region, state, revision)
        if (stale !== undefined) return Result.fail(stale)
        for (const [grantId, entry] of state.paths) {
          if (grantId !== path.grantId && entry.path.publicPort === path.publicPort) {
            return Result.fail(fail(region, "Rejected", `public port ${path.publicPort} is held by grant ${grantId}`))
          }
        }
        const copy: NatPath = { ...path, target: { ...path.target } }
        const existing = state.paths.get(path.grantId)
        let changed = true
        if (existing === undefined) state.paths.set(path.grantId, { path: copy, flows: new Set() })
        else if (sameRoute(existing.path, path) && existing.path.stopAt === path.stopAt) changed = false
        else {
          if (!sameRoute(existing.path, path)) cutFlows(existing)
          existing.path = copy
        }
        state.revision = Math.max(state.revision, revision)
        remember({ op: "open", regionId: region.id, grantId: path.grantId, publicPort: path.publicPort, revision, at: now, changed })
        return Result.succeed(undefined)
      })
    })

    const close = Effect.fn("MemoryRegionalGateway.close")(function* (
      region: Region,
      path: { readonly grantId: GrantId; readonly publicPort: number },
      revision: number
    ) {
      return yield* operate(region, (state, now) => {
        if (!isPort(path.publicPort)) return Result.fail(fail(region, "Rejected", `public port ${path.publicPort} is out of range`))
        const stale = checkRevision(region, state, revision)
        if (stale !== undefined) return Result.fail(stale)
        const existing = state.paths.get(path.grantId)
        if (existing !== undefined) {
          state.paths.delete(path.grantId)
          cutFlows(existing)
        }
        state.revision = Math.max(state.revision, revision)
        remember({
          op: "close",
          regionId: region.id,
          grantId: path.grantId,
          publicPort: path.publicPort,
          revision,
          at: now,
          changed: existing !== undefined
        })
        return Result.succeed(undefined)
      })
    })

    const pathsOf = (regionId: RegionId): ReadonlyArray<NatPath> =>
      [...stateOf(regionId).paths.values()]
        .map((entry) => ({ ...entry.path, target: { ...entry.path.target } }))
        .sort((left, right) => left.publicPort - right.publicPort)

    const gateway = RegionalGateway.of({
      open,
      close,
      list: Effect.fn("MemoryRegionalGateway.list")(function* (region: Region) {
        return yield* operate(region, () => Result.succeed(pathsOf(region.id)))
      }),
      revision: Effect.fn("MemoryRegionalGateway.revision")(function* (region: Region) {
        return yield* operate(region, (state) => Result.succeed(state.revision))
      })
    })

    const connect = (regionId: RegionId, publicPort: number, sourceAddress: string) =>
      Clock.clockWith((clock) =>
        Effect.sync((): ConnectResult => {
          const now = clock.currentTimeMillisUnsafe()
          const entry = [...stateOf(regionId).paths.values()].find((candidate) => candidate.path.publicPort === publicPort)
          if (entry === undefined) return { forwarded: false, reason: "NoPath" }
          if (now >= entry.path.stopAt) return { forwarded: false, reason: "Expired" }
          if (!Cidr.contains(entry.path.source, sourceAddress)) return { forwarded: false, reason: "SourceNotAllowed" }
          flowCounter += 1
          const flowId = `flow-${flowCounter}`
          flows.set(flowId, { regionId, entry, cut: false })
          entry.flows.add(flowId)
          return { forwarded: true, flowId, grantId: entry.path.grantId }
        })
      )

    const flowAlive = (flowId: string) =>
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const flow = flows.get(flowId)
          if (flow === undefined || flow.cut) return false
          const current = stateOf(flow.regionId).paths.get(flow.entry.path.grantId)
          return current === flow.entry && clock.currentTimeMillisUnsafe() < flow.entry.path.stopAt
        })
      )

    const control = MemoryRegionalGatewayControl.of({
      setOffline: (regionId, offline) =>
        Effect.sync(() => {
          stateOf(regionId).offline = offline
        }),
      failNext: (regionId, count, reason, options) =>
        Effect.sync(() => {
          const afterApply = options?.afterApply ?? false
          for (let index = 0; index < count; index++) stateOf(regionId).failures.push({ reason, afterApply })
        }),
      history: Effect.sync(history.entries),
      paths: (regionId) => Effect.sync(() => pathsOf(regionId)),
      recordedRevision: (regionId) => Effect.sync(() => stateOf(regionId).revision),
      connect,
      flowAlive
    })

    return { gateway, control }
  })

/**
 * The in-memory regional gateway as a layer: `RegionalGateway` and its
 * `MemoryRegionalGatewayControl`, sharing one state. Each build of the layer (each
 * `Effect.provide`, or one memoized build shared by a layer graph) starts empty.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<RegionalGateway | MemoryRegionalGatewayControl> = Layer.effectContext(
  Effect.map(make(), ({ control, gateway }) =>
    Context.make(RegionalGateway, gateway).pipe(Context.add(MemoryRegionalGatewayControl, control))
  )
)
