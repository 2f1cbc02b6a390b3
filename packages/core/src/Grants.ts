/**
 * The grant and revoke sagas: the engine's public operations.
 *
 * `grant` validates, authorises, generates credentials, allocates a port and commits the
 * grant together with its provisioning jobs (the outbox) before anything touches a
 * target; the password is returned once. `revoke` (manual, expiry and failed provisioning
 * share one path) writes the tombstone and both removal jobs in one transaction, whether
 * or not the creates ever ran. The grant becomes `revoked` only when the executors (or the
 * reconciler) listed every artifact as absent; only then is its port free.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AuditLog } from "./AuditLog.ts"
import * as Cidr from "./Cidr.ts"
import * as Credentials from "./Credentials.ts"
import { EngineConfig } from "./EngineConfig.ts"
import type { GrantStateConflict } from "./Errors.ts"
import { InvalidRequest, type PortsExhausted } from "./Errors.ts"
import * as ForwardTarget from "./ForwardTarget.ts"
import { initialProgress } from "./Grant.ts"
import type { Grant, GrantState } from "./Grant.ts"
import * as GrantRequest from "./GrantRequest.ts"
import { GrantNotFound, GrantStore, type IdempotencyConflict, type StoreError } from "./GrantStore.ts"
import type { GrantId } from "./Ids.ts"
import type { DeviceId } from "./Ids.ts"
import { provisionJobs } from "./Job.ts"
import * as Lifecycle from "./Lifecycle.ts"
import { Policy, type PolicyDenied } from "./Policy.ts"
import type { Actor } from "./Policy.ts"
import { PortAllocator } from "./PortAllocator.ts"
import { randomToken } from "./internal/randomToken.ts"
import { DeviceDirectory, type DeviceNotFound, RegionDirectory, type RegionNotFound } from "./Topology.ts"

/**
 * Options of a grant call.
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantOptions {
  /** The caller's own address: the default source (as a /32 or /128). */
  readonly callerAddress?: string | undefined
  /** Same key and same request return the same grant (per actor, kept ≥ 24 h). */
  readonly idempotencyKey?: string | undefined
}

/**
 * The result of a grant: the grant and, once, its credentials. A replayed idempotent
 * request returns the grant without the password (`credentials: null`, `replayed: true`).
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantResult {
  readonly grant: Grant
  readonly credentials: Credentials.IssuedCredentials | null
  readonly replayed: boolean
  /** Non-fatal remarks, e.g. a wide source CIDR. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Every typed failure of `grant`.
 *
 * @category errors
 * @since 0.1.0
 */
export type GrantError =
  | InvalidRequest
  | ForwardTarget.ForwardTargetRefused
  | PolicyDenied
  | DeviceNotFound
  | RegionNotFound
  | PortsExhausted
  | IdempotencyConflict
  | StoreError

/**
 * Every typed failure of `revoke`.
 *
 * @category errors
 * @since 0.1.0
 */
export type RevokeError = GrantNotFound | PolicyDenied | StoreError

/**
 * The engine's operations.
 *
 * @category services
 * @since 0.1.0
 */
export class Grants extends Context.Service<
  Grants,
  {
    /** Requests access; `request` is decoded with `GrantRequest` (bad input changes nothing). */
    readonly grant: (actor: Actor, request: unknown, options?: GrantOptions) => Effect.Effect<GrantResult, GrantError>
    /** Revokes a grant (idempotent: revoking or revoked grants are returned as they are). */
    readonly revoke: (actor: Actor, grantId: GrantId) => Effect.Effect<Grant, RevokeError>
    /**
     * Operator override for a revoke that cannot complete (target gone for good): marks a
     * `revoking` grant `revoked` without confirmation and frees its port. Audited.
     */
    readonly forceRevoke: (
      actor: Actor,
      grantId: GrantId,
      note: string
    ) => Effect.Effect<Grant, InvalidRequest | GrantNotFound | PolicyDenied | GrantStateConflict | StoreError>
    readonly get: (actor: Actor, grantId: GrantId) => Effect.Effect<Grant, GrantNotFound | PolicyDenied | StoreError>
    readonly list: (
      actor: Actor,
      filter: { readonly deviceId?: DeviceId; readonly states?: ReadonlyArray<GrantState>; readonly limit?: number }
    ) => Effect.Effect<ReadonlyArray<Grant>, StoreError>
  }
>()("@transient-access/core/Grants") {}

const grantIdAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

/** A fresh grant id: `ga_` + 26 base32 characters (130 bits). */
export const makeGrantId = (): GrantId => `ga_${randomToken(26, grantIdAlphabet)}` as GrantId

/** Turns a schema decoding failure into `InvalidRequest` naming the first offending field. */
const invalid = (error: Schema.SchemaError): InvalidRequest => {
  const match = /at \["([^"\]]+)"/.exec(error.message)
  return new InvalidRequest({ field: match?.[1] ?? null, message: error.message })
}

/** Stable fingerprint of a normalised request, for idempotency keys. */
const fingerprint = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex")

/**
 * Builds the service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const store = yield* GrantStore
  const allocator = yield* PortAllocator
  const devices = yield* DeviceDirectory
  const regions = yield* RegionDirectory
  const policy = yield* Policy
  const audit = yield* AuditLog
  const provide = <A, E>(effect: Effect.Effect<A, E, GrantStore | AuditLog>) =>
    effect.pipe(Effect.provideService(GrantStore, store), Effect.provideService(AuditLog, audit))

  const decodeNote = Schema.decodeUnknownEffect(GrantRequest.FreeText(500))
  const invalidNote = (error: Schema.SchemaError) => new InvalidRequest({ field: "note", message: `note: ${error.message}` })

  const grant = Effect.fn("Grants.grant")(function* (actor: Actor, input: unknown, options: GrantOptions = {}) {
    const settings = yield* EngineConfig
    const request = yield* GrantRequest.decode(input, { errors: "all" }).pipe(Effect.mapError(invalid))
    const kind = request.kind ?? "access"
    const ttlMs = request.ttlSeconds * 1000
    if (ttlMs < settings.minTtlMs || ttlMs > settings.maxTtlMs) {
      return yield* new InvalidRequest({
        field: "ttlSeconds",
        message: `ttlSeconds must be between ${settings.minTtlMs / 1000} and ${settings.maxTtlMs / 1000}`
      })
    }
    const sourceText = request.source ?? options.callerAddress
    if (sourceText === undefined) {
      return yield* new InvalidRequest({ field: "source", message: "source is required when the caller address is unknown" })
    }
    const source = yield* Cidr.parse(sourceText, settings).pipe(
      Effect.mapError((error) => new InvalidRequest({ field: "source", message: error.message }))
    )
    if (kind === "port-forward" && request.forward === undefined) {
      return yield* new InvalidRequest({ field: "forward", message: "a port-forward grant needs forward.address and forward.port" })
    }
    if (kind === "access" && request.forward !== undefined) {
      return yield* new InvalidRequest({ field: "forward", message: "forward is only allowed for kind port-forward" })
    }
    const device = yield* devices.get(request.deviceId)
    const region = yield* regions.get(device.regionId)
    if (source.family !== Cidr.family(device.tunnelAddress)) {
      // The NAT path has the device's family: a source of the other one could never match it.
      return yield* new InvalidRequest({
        field: "source",
        message: `source must be IPv${Cidr.family(device.tunnelAddress)}: the device is reached over IPv${Cidr.family(device.tunnelAddress)}`
      })
    }
    let forward: { readonly address: string; readonly port: number } | null = null
    if (kind === "port-forward" && request.forward !== undefined) {
      const allowance = policy.forwardAllowance === undefined ? ForwardTarget.noAllowance : yield* policy.forwardAllowance(device)
      const address = yield* Effect.fromResult(ForwardTarget.check(request.forward.address, device, region, allowance))
      forward = { address, port: request.forward.port }
    }
    yield* policy.authorize({
      _tag: "Grant",
      actor,
      device,
      kind,
      accessType: request.accessType,
      permission: request.permission,
      source: source.cidr,
      prefixLength: source.prefixLength,
      ttlMs
    })
    const warnings: Array<string> = []
    if ((source.family === 4 && source.prefixLength < 24) || (source.family === 6 && source.prefixLength < 56)) {
      warnings.push(`source ${source.cidr} is wide: anyone in it can reach the login prompt`)
    }
    const idempotency =
      options.idempotencyKey === undefined
        ? Option.none()
        : Option.some({
            actor: actor.id,
            key: options.idempotencyKey,
            fingerprint: fingerprint({ ...request, kind, source: source.cidr, forward })
          })
    const username = Credentials.generateUsername()
    const password = kind === "access" ? Option.some(Credentials.generatePassword()) : Option.none()
    const now = yield* Clock.currentTimeMillis
    const inserted = yield* allocator.allocate(region, (port) =>
      store.insert({
        grant: {
          id: makeGrantId(),
          kind,
          deviceId: device.id,
          regionId: region.id,
          accessType: request.accessType,
          permission: request.permission,
          source: source.cidr,
          actor: actor.id,
          createdAt: now,
          expiresAt: now + ttlMs,
          username,
          endpoint: { host: region.endpointHost, port },
          target: {
            address: device.tunnelAddress,
            port: kind === "port-forward" ? port : request.accessType === "ssh" ? device.ports.ssh : device.ports.winbox
          },
          forward,
          state: "pending",
          revokeReason: null,
          revokeRequestedAt: null,
          revokedAt: null,
          progress: initialProgress,
          generation: 1,
          revision: 0,
          label: request.label ?? null
        },
        deviceSecret: password,
        jobs: (stored) => provisionJobs(stored, now),
        idempotency
      })
    )
    if (inserted._tag === "Replayed") {
      return { grant: inserted.grant, credentials: null, replayed: true, warnings }
    }
    const stored = inserted.grant
    yield* provide(Lifecycle.created(stored, actor.id))
    const credentials = Option.isSome(password)
      ? Credentials.issue({
          username,
          password: password.value,
          host: region.endpointHost,
          port: stored.endpoint.port,
          accessType: stored.accessType
        })
      : null
    return { grant: stored, credentials, replayed: false, warnings } satisfies GrantResult
  })

  const load = (grantId: GrantId) =>
    store
      .get(grantId)
      .pipe(Effect.flatMap((found) => (Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new GrantNotFound({ grantId })))))

  const revoke = Effect.fn("Grants.revoke")(function* (actor: Actor, grantId: GrantId) {
    const grant = yield* load(grantId)
    yield* policy.authorize({ _tag: "Revoke", actor, grant })
    return yield* provide(Lifecycle.revoke(grantId, "manual", actor.id))
  })

  const forceRevoke = Effect.fn("Grants.forceRevoke")(function* (actor: Actor, grantId: GrantId, note: string) {
    yield* decodeNote(note).pipe(Effect.mapError(invalidNote))
    const grant = yield* load(grantId)
    yield* policy.authorize({ _tag: "ForceRevoke", actor, grant })
    return yield* provide(Lifecycle.forceRevoke(grantId, actor.id, note))
  })

  const get = Effect.fn("Grants.get")(function* (actor: Actor, grantId: GrantId) {
    const grant = yield* load(grantId)
    yield* policy.authorize({ _tag: "Read", actor, grant })
    return grant
  })

  const list = Effect.fn("Grants.list")(function* (
    actor: Actor,
    filter: { readonly deviceId?: DeviceId; readonly states?: ReadonlyArray<GrantState>; readonly limit?: number }
  ) {
    const grants = yield* store.list(filter)
    const visible: Array<Grant> = []
    for (const grant of grants) {
      const allowed = yield* Effect.result(policy.authorize({ _tag: "Read", actor, grant }))
      if (allowed._tag === "Success") visible.push(grant)
    }
    return visible
  })

  return Grants.of({ grant, revoke, forceRevoke, get, list })
})

/**
 * The service layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.effect(Grants, make)
