/**
 * The Effect composition root of the engine: one layer with every service an SDK instance
 * runs with — `Grants` and the port allocator on top of the store, queue, gateways,
 * directory, policy and audit log you pass (in-memory defaults for store, queue and audit;
 * role-based policy) — and the engine settings in force for building it and for every
 * effect run with it.
 *
 * ```ts
 * const engine = Engine.layer({ regional, device, devices, regions, store: PgGrantStore.layer(...) })
 * const program = Grants.Grants.use((grants) => grants.grant(actor, request)).pipe(Effect.provide(engine))
 * ```
 *
 * The Promise facade (`createTransientAccess`) is built on this layer; Effect users provide
 * it directly and run `Workers.run()` (or `Workers.layer()`) with it.
 *
 * @since 0.2.0
 */
import * as Layer from "effect/Layer"
import * as AuditLog from "./AuditLog.ts"
import type { DeviceGateway } from "./DeviceGateway.ts"
import * as EngineConfig from "./EngineConfig.ts"
import * as Grants from "./Grants.ts"
import type { GrantStore } from "./GrantStore.ts"
import type { JobQueue } from "./JobQueue.ts"
import * as MemoryGrantStore from "./MemoryGrantStore.ts"
import * as MemoryJobQueue from "./MemoryJobQueue.ts"
import * as Policy from "./Policy.ts"
import * as PortAllocator from "./PortAllocator.ts"
import type { RegionalGateway } from "./RegionalGateway.ts"
import * as Topology from "./Topology.ts"

/**
 * How to build an engine. `regional` and `device` are required; the rest defaults
 * to the embedded, in-memory implementations.
 *
 * @category models
 * @since 0.2.0
 */
export interface EngineOptions {
  readonly regional: Layer.Layer<RegionalGateway, unknown>
  readonly device: Layer.Layer<DeviceGateway, unknown>
  /** Static inventory as plain data, decoded when the layer is built (or pass `directory`). */
  readonly devices?: Topology.InventoryInput["devices"]
  readonly regions?: Topology.InventoryInput["regions"]
  readonly directory?: Layer.Layer<Topology.DeviceDirectory | Topology.RegionDirectory, unknown>
  readonly store?: Layer.Layer<GrantStore, unknown>
  readonly queue?: Layer.Layer<JobQueue, unknown>
  readonly policy?: Layer.Layer<Policy.Policy, unknown>
  readonly audit?: Layer.Layer<AuditLog.AuditLog, unknown>
  readonly settings?: Partial<EngineConfig.EngineSettings>
}

/**
 * The services an SDK instance runs with (for Effect users of `runtime`).
 *
 * @category models
 * @since 0.2.0
 */
export type Services =
  | Grants.Grants
  | GrantStore
  | JobQueue
  | RegionalGateway
  | DeviceGateway
  | Topology.DeviceDirectory
  | Topology.RegionDirectory
  | Policy.Policy
  | AuditLog.AuditLog
  | PortAllocator.PortAllocator

/**
 * Builds the engine's layer from the options.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: EngineOptions): Layer.Layer<Services, unknown> => {
  const directory = options.directory ?? Topology.layerDecoded({ devices: options.devices ?? [], regions: options.regions ?? [] })
  const base = Layer.mergeAll(
    options.store ?? MemoryGrantStore.layerEphemeral,
    options.queue ?? MemoryJobQueue.layer(),
    options.regional,
    options.device,
    directory,
    options.policy ?? Policy.layerRoles,
    options.audit ?? AuditLog.layerMemory()
  )
  const engine = Layer.mergeAll(Grants.layer).pipe(Layer.provideMerge(PortAllocator.layer), Layer.provideMerge(base))
  // `provideMerge`: the settings are in force for the layer's construction *and* for every
  // effect run with its services (Grants, the workers, the relay read them at run time).
  return engine.pipe(Layer.provideMerge(Layer.succeed(EngineConfig.EngineConfig, EngineConfig.make(options.settings))))
}
