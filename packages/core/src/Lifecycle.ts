/**
 * The grant lifecycle: the one owner of a grant's state machine.
 *
 * ```text
 *            activate (both artifacts confirmed)
 *   pending ─────────────────────────────────────▶ active
 *      │                                             │
 *      └──── revoke (manual · expired · failed) ─────┤
 *                                                    ▼
 *   revoked ◀── confirm (both artifacts listed gone) ── revoking
 *           ◀── forceRevoke (operator, audited) ──────┘
 * ```
 *
 * Every change here is a compare-and-set on the grant's `generation` (the store rejects a
 * stale write with `GenerationConflict`); a lost race reloads the grant and decides again,
 * under one policy ({@link conflictRetry}). Each transition says what it writes, which jobs it
 * registers in the same transaction, what it audits and whether the device's copy of the
 * password is wiped (always when a grant leaves the live states, and once the device
 * confirmed or lost its user). Callers — the `Grants` service, the job runner, the executors,
 * the expiry sweep and the reconciler — ask this module; none of them writes a state.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { AuditLog } from "./AuditLog.ts"
import type { AuditAction } from "./AuditLog.ts"
import { GrantStateConflict } from "./Errors.ts"
import type { Grant, GrantPatch, GrantProgress, GrantState, RevokeReason } from "./Grant.ts"
import { GenerationConflict, GrantNotFound, GrantStore, InvalidTransition, StoreError } from "./GrantStore.ts"
import type { GrantId } from "./Ids.ts"
import { removalJobs } from "./Job.ts"
import type { Job } from "./Job.ts"

/**
 * One edge of the state machine: the operation of this module that takes it and the audit
 * action it records.
 *
 * @category models
 * @since 0.2.0
 */
export interface Transition {
  readonly from: GrantState
  readonly to: GrantState
  readonly by: "recordProgress" | "revoke" | "sweepExpired" | "forceRevoke"
  readonly audit: AuditAction
}

/**
 * Every transition that exists. Anything else is refused by the store (`InvalidTransition`).
 *
 * @category models
 * @since 0.2.0
 */
export const transitions: ReadonlyArray<Transition> = [
  { from: "pending", to: "active", by: "recordProgress", audit: "grant.active" },
  { from: "pending", to: "revoking", by: "revoke", audit: "grant.revoke" },
  { from: "active", to: "revoking", by: "revoke", audit: "grant.revoke" },
  { from: "pending", to: "revoking", by: "sweepExpired", audit: "grant.revoke" },
  { from: "active", to: "revoking", by: "sweepExpired", audit: "grant.revoke" },
  { from: "revoking", to: "revoked", by: "recordProgress", audit: "grant.revoked" },
  { from: "revoking", to: "revoked", by: "forceRevoke", audit: "grant.force-revoke" }
]

/**
 * Whether a write may move a grant from `from` to `to` (staying in a state is allowed: a
 * progress-only update). Stores enforce this on every update.
 *
 * @category guards
 * @since 0.2.0
 */
export const canTransition = (from: GrantState, to: GrantState): boolean =>
  from === to || transitions.some((transition) => transition.from === from && transition.to === to)

/**
 * A grant an operator force-revoked: its port is free already, and its artifacts are removed
 * best effort.
 *
 * @category guards
 * @since 0.2.0
 */
export const isForceRevoked = (grant: Grant): boolean => grant.state === "revoked" && grant.revokeReason === "forced"

/**
 * The retry policy for lost compare-and-sets: reload and decide again at once, at most 32
 * times (a grant has a handful of writers: the API, a runner per target, the sweep and the
 * reconciler, so losing 32 races in a row means something is wrong and surfaces as a
 * `StoreError`).
 *
 * @category constructors
 * @since 0.2.0
 */
export const conflictRetry: Schedule.Schedule<number, unknown> = Schedule.recurs(32).pipe(
  Schedule.setInputType<unknown>(),
  Schedule.while(({ input }) => isConflict(input))
)

/** A lost compare-and-set (the grant changed between read and write). */
const isConflict = (error: unknown): error is GenerationConflict | InvalidTransition =>
  error instanceof GenerationConflict || error instanceof InvalidTransition

/** A conflict that outlived {@link conflictRetry} is a store failure to its callers. */
const conflictToStoreError = <E>(grantId: GrantId, error: E | GenerationConflict | InvalidTransition): E | StoreError =>
  error instanceof GenerationConflict
    ? new StoreError({ reason: "Unknown", message: `grant ${grantId} kept changing under concurrent writes` })
    : error instanceof InvalidTransition
      ? new StoreError({ reason: "Unknown", message: `grant ${grantId}: ${error.from} → ${error.to} refused` })
      : error

/** The services every transition runs with. */
/**
 * The services a transition runs with: the store it writes and the audit log it records to.
 *
 * @category models
 * @since 0.2.0
 */
export type Services = GrantStore | AuditLog

/** What a transition decided after reading the grant. */
type Decision<E> =
  | { readonly _tag: "Keep"; readonly grant: Grant }
  | { readonly _tag: "Refuse"; readonly error: E }
  | {
      readonly _tag: "Write"
      readonly patch: GrantPatch
      readonly jobs: (updated: Grant) => ReadonlyArray<Job>
      /** Runs once the write committed (audit, secret wipe). */
      readonly after: (updated: Grant) => Effect.Effect<void, StoreError, Services>
    }

const keep = (grant: Grant): Decision<never> => ({ _tag: "Keep", grant })

const write = (
  patch: GrantPatch,
  jobs: (updated: Grant) => ReadonlyArray<Job>,
  after: (updated: Grant) => Effect.Effect<void, StoreError, Services> = () => Effect.void
): Decision<never> => ({ _tag: "Write", patch, jobs, after })

/**
 * Reads the grant, lets `decide` plan a write, and commits it as a compare-and-set; a lost
 * race starts over under {@link conflictRetry}. Returns the grant as written (or as kept).
 */
const compareAndSet = <E = never>(
  grantId: GrantId,
  decide: (grant: Grant, now: number) => Decision<E>
): Effect.Effect<Grant, E | GrantNotFound | StoreError, Services> =>
  Effect.gen(function* () {
    const store = yield* GrantStore
    const found = yield* store.get(grantId)
    if (Option.isNone(found)) return yield* new GrantNotFound({ grantId })
    const grant = found.value
    const decision = decide(grant, yield* Clock.currentTimeMillis)
    if (decision._tag === "Keep") return decision.grant
    if (decision._tag === "Refuse") return yield* Effect.fail(decision.error)
    const updated = yield* store.update({
      grantId,
      expectedGeneration: grant.generation,
      patch: decision.patch,
      jobs: decision.jobs
    })
    yield* decision.after(updated)
    return updated
  }).pipe(
    Effect.retry(conflictRetry),
    Effect.mapError((error) => conflictToStoreError(grantId, error))
  )

/** The audit record of one transition or event of a grant. */
const audit = (action: AuditAction, grantId: GrantId, actor: string, details: Record<string, string | number | boolean | null>) =>
  Effect.gen(function* () {
    const log = yield* AuditLog
    yield* log.record({ at: yield* Clock.currentTimeMillis, actor, action, grantId, details })
  })

/** The device's copy of the password is no longer needed. */
const wipeSecret = (grantId: GrantId) => GrantStore.use((store) => store.wipeDeviceSecret(grantId))

/**
 * Audits a freshly committed grant (`grant.create`). The insert itself belongs to `Grants`,
 * which allocates the port in the same transaction.
 *
 * @category constructors
 * @since 0.2.0
 */
export const created = (grant: Grant, actor: string) =>
  audit("grant.create", grant.id, actor, {
    deviceId: grant.deviceId,
    kind: grant.kind,
    accessType: grant.accessType,
    permission: grant.permission,
    source: grant.source,
    port: grant.endpoint.port,
    expiresAt: grant.expiresAt
  })

/**
 * Moves a live grant to `revoking` with `reason` and registers both removal jobs in the
 * same write (the compensation is registered whether or not the creates ever ran).
 * Idempotent: a grant already revoking or revoked is returned as it is.
 *
 * @category constructors
 * @since 0.2.0
 */
export const revoke = Effect.fn("Lifecycle.revoke")(function* (grantId: GrantId, reason: Exclude<RevokeReason, "forced">, actor: string) {
  return yield* compareAndSet(grantId, (grant, now) =>
    grant.state === "revoking" || grant.state === "revoked"
      ? keep(grant)
      : write(
          { state: "revoking", revokeReason: reason, revokeRequestedAt: now },
          (updated) => removalJobs(updated, now),
          () => wipeSecret(grantId).pipe(Effect.andThen(audit("grant.revoke", grantId, actor, { reason })))
        )
  )
})

/**
 * Claims up to `limit` expired live grants (store clock, skip-locked) and moves them to
 * `revoking` (reason `expired`) with their removal jobs; returns them.
 *
 * @category constructors
 * @since 0.2.0
 */
export const sweepExpired = Effect.fn("Lifecycle.sweepExpired")(function* (limit: number) {
  const store = yield* GrantStore
  const claimed = yield* store.claimExpired({
    limit,
    plan: (grant, now) => ({
      patch: { state: "revoking", revokeReason: "expired", revokeRequestedAt: now },
      jobs: removalJobs(grant, now)
    })
  })
  for (const grant of claimed) {
    yield* wipeSecret(grant.id)
    yield* audit("grant.revoke", grant.id, "system", { reason: "expired" })
  }
  return claimed
})

/**
 * Operator override for a revoke that cannot complete (a target gone for good): moves a
 * `revoking` grant to `revoked` without confirmation, freeing its port, and registers
 * best-effort removal jobs. A grant that is not revoking yet is refused (revoke it first).
 *
 * @category constructors
 * @since 0.2.0
 */
export const forceRevoke = Effect.fn("Lifecycle.forceRevoke")(function* (grantId: GrantId, actor: string, note: string) {
  return yield* compareAndSet<GrantStateConflict>(grantId, (grant, now) => {
    if (grant.state === "revoked") return keep(grant)
    if (grant.state !== "revoking") {
      return {
        _tag: "Refuse",
        error: new GrantStateConflict({
          grantId,
          state: grant.state,
          message: "only a revoking grant can be force-revoked; revoke it first"
        })
      }
    }
    return write(
      { state: "revoked", revokedAt: now, revokeReason: "forced" },
      // Best-effort removal jobs: the executors still try to remove what is left.
      (updated) => removalJobs(updated, now),
      () =>
        wipeSecret(grantId).pipe(
          Effect.andThen(
            audit("grant.force-revoke", grantId, actor, {
              note: note.slice(0, 500),
              previousReason: grant.revokeReason,
              progress: JSON.stringify(grant.progress)
            })
          )
        )
    )
  })
})

/**
 * Records what a job or the reconciler confirmed on a target. A pending grant whose two
 * artifacts are ready becomes `active`; a revoking grant whose two artifacts are listed gone
 * becomes `revoked` (its port is free from then on). Recording `deviceReady` or `deviceGone`
 * wipes the device's copy of the password (recorded first, wiped after: a failure in between
 * leaves a secret to wipe later, never a ready user whose grant believes it still has to be
 * created). A revoked grant is left as it is; an unknown grant gives `None`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const recordProgress = Effect.fn("Lifecycle.recordProgress")(function* (grantId: GrantId, progress: Partial<GrantProgress>) {
  const wipes = progress.deviceReady === true || progress.deviceGone === true
  const recorded = yield* compareAndSet(grantId, (grant, now) => {
    if (grant.state === "revoked") return keep(grant)
    const merged = { ...grant.progress, ...progress }
    const unchanged = (Object.keys(progress) as Array<keyof GrantProgress>).every((key) => grant.progress[key] === merged[key])
    const activate = grant.state === "pending" && merged.natOpen && merged.deviceReady
    const finish = grant.state === "revoking" && merged.natGone && merged.deviceGone
    if (unchanged && !activate && !finish) return keep(grant)
    return write(
      {
        progress,
        ...(activate ? { state: "active" as const } : {}),
        ...(finish ? { state: "revoked" as const, revokedAt: now } : {})
      },
      () => [],
      (updated) =>
        activate
          ? audit("grant.active", grantId, "system", { port: updated.endpoint.port })
          : finish
            ? audit("grant.revoked", grantId, "system", { reason: grant.revokeReason })
            : Effect.void
    )
  }).pipe(
    Effect.map(Option.some),
    Effect.catchTag("GrantNotFound", () => Effect.succeed(Option.none<Grant>()))
  )
  if (wipes && Option.isSome(recorded)) yield* wipeSecret(grantId)
  return recorded
})

/**
 * Records one more failed run of a removal job. Past `stuckAfterAttempts` the grant is
 * flagged `revokeStuck` (audited once, visible in stats); removal is retried forever.
 *
 * @category constructors
 * @since 0.2.0
 */
export const recordRemovalFailure = Effect.fn("Lifecycle.recordRemovalFailure")(function* (
  grantId: GrantId,
  failure: { readonly job: string; readonly reason: string; readonly stuckAfterAttempts: number }
) {
  return yield* compareAndSet(grantId, (grant) => {
    if (grant.state === "revoked") return keep(grant)
    const attempts = grant.progress.revokeAttempts + 1
    const stuck = attempts >= failure.stuckAfterAttempts
    return write(
      { progress: { revokeAttempts: attempts, revokeStuck: stuck } },
      () => [],
      () =>
        stuck && !grant.progress.revokeStuck
          ? audit("grant.revoke-stuck", grantId, "system", { job: failure.job, attempts, reason: failure.reason }).pipe(
              Effect.andThen(
                Effect.logWarning("revoke stuck; retrying forever").pipe(Effect.annotateLogs({ grantId, job: failure.job, attempts }))
              )
            )
          : Effect.void
    )
  })
})

/**
 * A create can never succeed (or kept failing past `provisionAttempts`): audits
 * `grant.provision-failed` and revokes the grant as `failed` (fail closed: everything made
 * so far is removed by the removal jobs).
 *
 * @category constructors
 * @since 0.2.0
 */
export const provisionFailed = Effect.fn("Lifecycle.provisionFailed")(function* (
  grantId: GrantId,
  failure: { readonly job: string; readonly attempts: number; readonly reason: string }
) {
  yield* audit("grant.provision-failed", grantId, "system", { ...failure })
  return yield* revoke(grantId, "failed", "system")
})
