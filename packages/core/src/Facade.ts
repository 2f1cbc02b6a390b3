/**
 * The Promise facade for callers who do not use Effect.
 *
 * ```ts
 * const sdk = createTransientAccess({ regional, device, devices, regions })
 * await sdk.start()
 * const { grant, credentials } = await sdk.grant({ actor, deviceId: "r1", accessType: "ssh",
 *   permission: "read-only", callerAddress: "203.0.113.7", ttlSeconds: 3600 })
 * showToTheUserOnce(credentials!.sshCommand, revealPassword(credentials!)) // never log it
 * await sdk.revoke(actor, grant.id)
 * await sdk.dispose()
 * ```
 *
 * Failures reject with the typed error instances (`InvalidRequest`, `PolicyDenied`,
 * `PortsExhausted`, `GrantNotFound`, …), so `instanceof` and `error._tag` both work.
 * Defaults: in-memory store, queue and audit log, role-based policy. Every default is a
 * layer that can be replaced (`@transient-access/adapter-store-postgres`, …). The services
 * come from `Engine.layer`, the composition root Effect users build on directly.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as AuditLog from "./AuditLog.ts"
import type { IssuedCredentials } from "./Credentials.ts"
import * as Engine from "./Engine.ts"
import * as EngineConfig from "./EngineConfig.ts"
import { InvalidRequest } from "./Errors.ts"
import { sweepOnce } from "./ExpirySweep.ts"
import type { Grant, GrantState } from "./Grant.ts"
import * as Grants from "./Grants.ts"
import type { GrantRequestEncoded } from "./GrantRequest.ts"
import { GrantNotFound, GrantStore } from "./GrantStore.ts"
import type { StoreStats } from "./GrantStore.ts"
import { isId } from "./Ids.ts"
import type { DeviceId, GrantId } from "./Ids.ts"
import * as Policy from "./Policy.ts"
import { reconcileOnce } from "./Reconciler.ts"
import type { ReconcileReport } from "./Reconciler.ts"
import * as Workers from "./Workers.ts"

/**
 * How to build an SDK instance: the engine's options (`regional` and `device` are required;
 * the rest defaults to the embedded, in-memory implementations) and the worker's name.
 *
 * @category models
 * @since 0.1.0
 */
export interface TransientAccessOptions extends Engine.EngineOptions {
  /** Consumer name of this process's job runner (default: random). */
  readonly workerName?: string
}

/**
 * The caller of a facade operation, as plain data: `{ id: "alice", roles: ["operator"] }`.
 * An id that does not match the id pattern is an `InvalidRequest` (field `actor`).
 *
 * @category models
 * @since 0.2.0
 */
export interface ActorInput {
  readonly id: string
  readonly roles: ReadonlyArray<string>
}

/**
 * A grant request through the facade.
 *
 * @category models
 * @since 0.1.0
 */
export type GrantInput = GrantRequestEncoded & {
  readonly actor: ActorInput
  readonly callerAddress?: string
  readonly idempotencyKey?: string
}

/**
 * The services an SDK instance runs with (for Effect users of `runtime`).
 *
 * @category models
 * @since 0.1.0
 */
export type Services = Engine.Services

/**
 * An SDK instance.
 *
 * @category models
 * @since 0.1.0
 */
export interface TransientAccess {
  readonly grant: (input: GrantInput) => Promise<Grants.GrantResult>
  readonly revoke: (actor: ActorInput, grantId: string) => Promise<Grant>
  readonly forceRevoke: (actor: ActorInput, grantId: string, note: string) => Promise<Grant>
  readonly get: (actor: ActorInput, grantId: string) => Promise<Grant>
  readonly list: (
    actor: ActorInput,
    filter?: { readonly deviceId?: string; readonly states?: ReadonlyArray<GrantState>; readonly limit?: number }
  ) => Promise<ReadonlyArray<Grant>>
  readonly audit: (filter?: { readonly grantId?: string; readonly limit?: number }) => Promise<ReadonlyArray<AuditLog.AuditEvent>>
  /** Verifies the audit log's hash chain; reports the first broken link. */
  readonly verifyAudit: () => Promise<AuditLog.VerifyReport>
  /** The audit log with its chain hashes, oldest first (verify it with `AuditLog.verifyChain`). */
  readonly exportAudit: () => Promise<ReadonlyArray<AuditLog.ChainedEvent>>
  readonly stats: () => Promise<StoreStats>
  /** Runs one expiry sweep now; returns how many grants it moved to revoking. */
  readonly sweep: () => Promise<number>
  /** Runs one reconciler pass now. */
  readonly reconcile: () => Promise<ReconcileReport>
  /** Starts the background workers (idempotent). */
  readonly start: () => Promise<void>
  /** Stops the background workers (idempotent). */
  readonly stop: () => Promise<void>
  /** Stops the workers and releases every resource. */
  readonly dispose: () => Promise<void>
  /** The Effect runtime, for callers who want to run Effects against the same services. */
  readonly runtime: ManagedRuntime.ManagedRuntime<Services, unknown>
}

/**
 * Reveals the password of issued credentials (show it once, never log it).
 *
 * @category constructors
 * @since 0.1.0
 */
export const revealPassword = (credentials: IssuedCredentials): string => Redacted.value(credentials.password)

/**
 * Creates an SDK instance. Nothing is built until the first call.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createTransientAccess = (options: TransientAccessOptions): TransientAccess => {
  const settings = EngineConfig.make(options.settings)
  const runtime = ManagedRuntime.make(Engine.layer(options))
  const run = <A, E>(effect: Effect.Effect<A, E, Services>): Promise<A> =>
    runtime.runPromise(effect.pipe(Effect.provideService(EngineConfig.EngineConfig, settings)))
  let workers: Fiber.Fiber<unknown, unknown> | undefined
  const grantId = (value: string) => value as GrantId
  const decodeActor = Schema.decodeUnknownEffect(Policy.ActorInput)
  /** Decodes the caller first: a malformed actor is refused before anything runs. */
  const asActor = <A, E>(actor: ActorInput, use: (actor: Policy.Actor) => Effect.Effect<A, E, Services>) =>
    decodeActor(actor).pipe(
      Effect.mapError((error) => new InvalidRequest({ field: "actor", message: `invalid actor: ${error.message}` })),
      Effect.flatMap(use)
    )

  const stop = async () => {
    const fiber = workers
    workers = undefined
    if (fiber !== undefined) await Effect.runPromise(Fiber.interrupt(fiber))
  }

  return {
    grant: ({ actor, callerAddress, idempotencyKey, ...request }) =>
      run(asActor(actor, (caller) => Grants.Grants.use((grants) => grants.grant(caller, request, { callerAddress, idempotencyKey })))),
    revoke: (actor, id) => run(asActor(actor, (caller) => Grants.Grants.use((grants) => grants.revoke(caller, grantId(id))))),
    forceRevoke: (actor, id, note) =>
      run(asActor(actor, (caller) => Grants.Grants.use((grants) => grants.forceRevoke(caller, grantId(id), note)))),
    get: (actor, id) =>
      isId(id)
        ? run(asActor(actor, (caller) => Grants.Grants.use((grants) => grants.get(caller, grantId(id)))))
        : Promise.reject(new GrantNotFound({ grantId: id })),
    list: (actor, filter = {}) =>
      run(
        asActor(actor, (caller) =>
          Grants.Grants.use((grants) =>
            grants.list(caller, {
              ...(filter.deviceId !== undefined ? { deviceId: filter.deviceId as DeviceId } : {}),
              ...(filter.states !== undefined ? { states: filter.states } : {}),
              ...(filter.limit !== undefined ? { limit: filter.limit } : {})
            })
          )
        )
      ),
    audit: (filter = {}) => run(AuditLog.AuditLog.use((audit) => audit.list(filter))),
    verifyAudit: () => run(AuditLog.AuditLog.use((audit) => audit.verify)),
    exportAudit: () => run(AuditLog.AuditLog.use((audit) => audit.exportChain)),
    stats: () => run(GrantStore.use((store) => store.stats)),
    sweep: () => run(sweepOnce()),
    reconcile: () => run(reconcileOnce()),
    start: async () => {
      if (workers !== undefined) return
      await runtime.runPromise(Effect.void)
      workers = runtime.runFork(
        Workers.run(options.workerName === undefined ? {} : { consumer: options.workerName }).pipe(
          Effect.provideService(EngineConfig.EngineConfig, settings)
        )
      )
    },
    stop,
    dispose: async () => {
      await stop()
      await runtime.dispose()
    },
    runtime
  }
}
