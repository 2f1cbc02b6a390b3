/**
 * A `RegionalGateway` in user space: instead of asking the kernel for a NAT rule, the relay
 * listens on each path's public port itself (`node:net`) and pipes accepted connections to
 * the path's target.
 *
 * - A connection from outside the path's source CIDR is reset before any byte is relayed
 *   (IPv4-mapped IPv6 socket addresses are matched against IPv4 CIDRs).
 * - At the path's stop time the relay stops listening and cuts established connections,
 *   even if no `close` ever arrives; the path stays listed until it is closed.
 * - `close` stops listening and cuts the path's live connections.
 * - The regional fence: the highest revision applied per region is recorded; a change with
 *   an older revision fails with `StaleRevision`. Changes run one at a time (a local lock).
 *
 * Lifecycle: servers and timers belong to the layer's scope; tearing the layer down closes
 * every server and connection. State lives in memory: a restarted relay starts empty and
 * the core's reconciler reopens live paths.
 *
 * Serves the embedded demo, development, and hosts where the SDK may not touch the firewall.
 *
 * @since 0.1.0
 */
import { RegionalGateway, TargetError, type Topology } from "@transient-access/core"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import { type RelayConnection as Connection, RelayPath } from "./internal/relayPath.ts"

/**
 * Relay options.
 *
 * @category models
 * @since 0.1.0
 */
export interface RelayOptions {
  /** Address the public ports listen on (default `127.0.0.1`; `::` for dual stack). */
  readonly bindAddress?: string
  /** How long to wait for the target to accept a relayed connection (default 5000 ms). */
  readonly connectTimeoutMs?: number
}

/**
 * A live relayed connection.
 *
 * @category models
 * @since 0.1.0
 */
export type RelayConnection = Connection

/**
 * The relay's own view, beside the port: live connections and refusals (for dashboards
 * and tests).
 *
 * @category services
 * @since 0.1.0
 */
export class Relay extends Context.Service<
  Relay,
  {
    readonly bindAddress: string
    /** Connections currently relayed. */
    readonly connections: Effect.Effect<ReadonlyArray<RelayConnection>>
    /** Connections refused so far (source outside the CIDR, or after the stop time). */
    readonly refused: Effect.Effect<number>
    /** Every held path with the listening state node reports for its server (stopped paths: false). */
    readonly listening: Effect.Effect<ReadonlyArray<RegionalGateway.NatPath & { readonly listening: boolean }>>
  }
>()("@transient-access/adapter-relay/Relay") {}

const gatewayError = (region: Topology.Region, reason: TargetError.TargetErrorReason, message: string, cause?: unknown) =>
  new TargetError.RegionalGatewayError({ reason, message, target: `relay:${region.id}`, cause })

const listenErrorReason = (error: unknown): TargetError.TargetErrorReason => {
  const code = (error as { readonly code?: unknown }).code
  return code === "EACCES" || code === "EADDRNOTAVAIL" ? "Rejected" : "Unknown"
}

/**
 * Builds the relay: the `RegionalGateway` implementation and the `Relay` view. Scoped:
 * closing the scope closes every listening port and connection.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: RelayOptions = {}) {
  const bindAddress = options.bindAddress ?? "127.0.0.1"
  const clock = yield* Clock.Clock
  const lock = yield* Semaphore.make(1)
  const stopTimers = yield* FiberMap.make<number>()
  const paths = new Map<number, RelayPath>()
  const revisions = new Map<string, number>()
  let refused = 0

  const pathOptions = {
    bindAddress,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
    now: () => clock.currentTimeMillisUnsafe(),
    onRefused: () => {
      refused++
    }
  }

  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const path of paths.values()) path.stop()
      paths.clear()
    })
  )

  const fence = (region: Topology.Region, revision: number) =>
    Effect.suspend(() => {
      const recorded = revisions.get(region.id) ?? 0
      if (!Number.isInteger(revision) || revision < 0) {
        return Effect.fail(gatewayError(region, "Rejected", `revision must be a non-negative integer, got ${revision}`))
      }
      return revision < recorded
        ? Effect.fail(gatewayError(region, "StaleRevision", `revision ${revision} is older than recorded ${recorded}`))
        : Effect.void
    })

  const record = (region: Topology.Region, revision: number) =>
    Effect.sync(() => {
      revisions.set(region.id, Math.max(revisions.get(region.id) ?? 0, revision))
    })

  const scheduleStop = (entry: RelayPath) =>
    FiberMap.run(
      stopTimers,
      entry.path.publicPort,
      Effect.suspend(() => Effect.sleep(Math.max(0, entry.path.stopAt - clock.currentTimeMillisUnsafe()))).pipe(
        Effect.andThen(Effect.sync(() => entry.stop()))
      )
    )

  const remove = (port: number) =>
    Effect.gen(function* () {
      const entry = paths.get(port)
      if (entry === undefined) return
      paths.delete(port)
      entry.stop()
      yield* FiberMap.remove(stopTimers, port)
    })

  const open = Effect.fn("RelayGateway.open")(function* (region: Topology.Region, path: RegionalGateway.NatPath, revision: number) {
    const invalid = RegionalGateway.validatePath(region, path)
    if (invalid !== undefined) return yield* gatewayError(region, "Rejected", invalid)
    yield* fence(region, revision)
    const existing = paths.get(path.publicPort)
    if (existing !== undefined) {
      if (existing.path.grantId !== path.grantId || existing.path.regionId !== region.id) {
        return yield* gatewayError(region, "Rejected", `port ${path.publicPort} is held by another grant`)
      }
      existing.path = path
      yield* scheduleStop(existing)
      return yield* record(region, revision)
    }
    for (const [port, other] of [...paths]) {
      if (other.path.regionId === region.id && other.path.grantId === path.grantId) yield* remove(port) // the grant moved
    }
    const entry = new RelayPath(path, pathOptions)
    if (path.stopAt > clock.currentTimeMillisUnsafe()) {
      yield* Effect.tryPromise({
        try: () => entry.listen(),
        catch: (cause) => gatewayError(region, listenErrorReason(cause), `cannot listen on ${bindAddress}:${path.publicPort}`, cause)
      })
    }
    paths.set(path.publicPort, entry)
    yield* scheduleStop(entry)
    yield* record(region, revision)
  }, Semaphore.withPermit(lock))

  const close = Effect.fn("RelayGateway.close")(function* (
    region: Topology.Region,
    target: { readonly grantId: string; readonly publicPort: number },
    revision: number
  ) {
    if (!Number.isInteger(target.publicPort) || target.publicPort < 1 || target.publicPort > 65_535) {
      return yield* gatewayError(region, "Rejected", `public port ${target.publicPort} is out of range`)
    }
    yield* fence(region, revision)
    for (const [port, entry] of [...paths]) {
      if (entry.path.regionId === region.id && entry.path.grantId === target.grantId) yield* remove(port)
    }
    yield* record(region, revision)
  }, Semaphore.withPermit(lock))

  const gateway = RegionalGateway.RegionalGateway.of({
    open,
    close,
    list: (region) => Effect.sync(() => [...paths.values()].map((entry) => entry.path).filter((path) => path.regionId === region.id)),
    revision: (region) => Effect.sync(() => revisions.get(region.id) ?? 0)
  })

  const relay = Relay.of({
    bindAddress,
    connections: Effect.sync(() => [...paths.values()].flatMap((entry) => [...entry.connections.values()].map(({ info }) => info))),
    refused: Effect.sync(() => refused),
    listening: Effect.sync(() => [...paths.values()].map((entry) => ({ ...entry.path, listening: entry.server.listening })))
  })

  return { gateway, relay }
})

/**
 * The relay as the region's `RegionalGateway`, plus its `Relay` view.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: RelayOptions = {}): Layer.Layer<RegionalGateway.RegionalGateway | Relay> =>
  Layer.effectContext(
    Effect.map(make(options), ({ gateway, relay }) =>
      Context.make(RegionalGateway.RegionalGateway, gateway).pipe(Context.add(Relay, relay))
    )
  )

/**
 * The relay configured from the environment: `TA_RELAY_BIND_ADDRESS` (default `127.0.0.1`),
 * `TA_RELAY_CONNECT_TIMEOUT_MS` (default 5000).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<RegionalGateway.RegionalGateway | Relay, Config.ConfigError> = Layer.unwrap(
  Effect.map(
    Config.all({
      bindAddress: Config.String("TA_RELAY_BIND_ADDRESS").pipe(Config.withDefault("127.0.0.1")),
      connectTimeoutMs: Config.Int("TA_RELAY_CONNECT_TIMEOUT_MS").pipe(Config.withDefault(5_000))
    }),
    layer
  )
)
