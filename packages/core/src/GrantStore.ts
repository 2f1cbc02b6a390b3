/**
 * The grant store port: the single source of truth.
 *
 * The store holds grants, their outbox of jobs, the per-region revision (the regional
 * fence), per-device command sequence numbers (the pull-mode fence), idempotency keys and
 * the device's encrypted copy of each password until the device confirms it.
 *
 * Every write is atomic with its jobs (the transactional outbox): a grant exists once its
 * row and its outbox rows are committed together. Every grant change is a compare-and-set
 * on `generation`, bumps it, and stamps the grant with the region's next revision.
 *
 * Decisions about time (`claimExpired`, `withLiveGrant`) use the **store's** clock.
 *
 * Semantics the contract suite pins beyond the signatures:
 * - a failed call writes nothing (no grant, job, revision bump, key or secret);
 * - `update` fails with `GrantNotFound`, then `GenerationConflict`, then `InvalidTransition`;
 * - idempotency keys are checked before the port, so a replay that drew a held port is still
 *   `Replayed`; keys are kept at least 24 h;
 * - handing a job out of the outbox counts as a publication (concurrent relays never get the
 *   same job; a relay that died before `markPublished` is covered by `republishAfterMs`);
 * - the device secret is wiped automatically when the grant becomes `revoked`;
 * - `list` is newest first; `stats.revokeStuck` counts `revoking` grants with the flag;
 * - a `use` passed to `withLiveGrant` must not update its own grant (it would wait for itself).
 *
 * Contract (pinned by `GrantStoreSuite` in `@transient-access/core/testing`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Grant, GrantPatch, GrantState } from "./Grant.ts"
import type { ActorId, DeviceId, GrantId, JobId, RegionId } from "./Ids.ts"
import type { Job } from "./Job.ts"

/**
 * - `Unavailable`: the store cannot be reached (retryable).
 * - `Timeout`: no answer in time (retryable; the write may have committed).
 * - `Corrupt`: a row failed schema decoding.
 * - `Unknown`: anything else.
 *
 * @category errors
 * @since 0.1.0
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: Schema.Literals(["Unavailable", "Timeout", "Corrupt", "Unknown"]),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A compare-and-set lost: the grant changed since it was read.
 *
 * @category errors
 * @since 0.1.0
 */
export class GenerationConflict extends Schema.TaggedError<GenerationConflict>()("GenerationConflict", {
  grantId: Schema.String,
  expected: Schema.Int,
  actual: Schema.Int
}) {}

/**
 * A state change that the state machine does not allow (e.g. `revoked → active`).
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  grantId: Schema.String,
  from: Schema.String,
  to: Schema.String
}) {}

/**
 * The (region, port) is held by another grant that is pending, active or revoking.
 *
 * @category errors
 * @since 0.1.0
 */
export class PortTaken extends Schema.TaggedError<PortTaken>()("PortTaken", {
  regionId: Schema.String,
  port: Schema.Int
}) {}

/**
 * The idempotency key was used by the same actor with a different request.
 *
 * @category errors
 * @since 0.1.0
 */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  key: Schema.String
}) {}

/**
 * No grant with this id.
 *
 * @category errors
 * @since 0.1.0
 */
export class GrantNotFound extends Schema.TaggedError<GrantNotFound>()("GrantNotFound", {
  grantId: Schema.String
}) {}

/**
 * An idempotency key: per actor, with a fingerprint of the request it was first used for.
 *
 * @category models
 * @since 0.1.0
 */
export interface IdempotencyKey {
  readonly actor: ActorId
  readonly key: string
  readonly fingerprint: string
}

/**
 * What `insert` writes in one transaction.
 *
 * @category models
 * @since 0.1.0
 */
export interface NewGrant {
  /** The grant, in state `pending`, generation 1 (the store stamps `revision`). */
  readonly grant: Grant
  /** The device's copy of the password (`access` grants); the store keeps it encrypted. */
  readonly deviceSecret: Option.Option<Redacted.Redacted<string>>
  /** The provisioning jobs, written to the outbox with the grant. */
  readonly jobs: (grant: Grant) => ReadonlyArray<Job>
  readonly idempotency: Option.Option<IdempotencyKey>
}

/**
 * `Inserted`: a new grant. `Replayed`: the idempotency key matched an earlier identical
 * request; its grant is returned (the password is not shown again).
 *
 * @category models
 * @since 0.1.0
 */
export type InsertResult = { readonly _tag: "Inserted"; readonly grant: Grant } | { readonly _tag: "Replayed"; readonly grant: Grant }

/**
 * A compare-and-set update and the jobs it enqueues.
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantUpdate {
  readonly grantId: GrantId
  readonly expectedGeneration: number
  readonly patch: GrantPatch
  readonly jobs: (grant: Grant) => ReadonlyArray<Job>
}

/**
 * A job waiting in the outbox.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutboxEntry {
  readonly job: Job
  /** How many times it was handed to a relay already. */
  readonly publications: number
}

/**
 * Filter for `list`.
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantFilter {
  readonly deviceId?: DeviceId
  readonly regionId?: RegionId
  readonly states?: ReadonlyArray<GrantState>
  readonly revokeStuck?: boolean
  readonly limit?: number
}

/**
 * A consistent view of one region: its current revision and its non-revoked grants.
 *
 * @category models
 * @since 0.1.0
 */
export interface RegionSnapshot {
  readonly revision: number
  readonly grants: ReadonlyArray<Grant>
}

/**
 * Health numbers of the store (failures must be visible).
 *
 * @category models
 * @since 0.1.0
 */
export interface StoreStats {
  readonly grantsByState: Readonly<Record<GrantState, number>>
  readonly revokeStuck: number
  readonly outboxPending: number
  /** Age in ms of the oldest job not yet completed, 0 when none. */
  readonly oldestOutboxAgeMs: number
}

/**
 * The grant store port.
 *
 * @category services
 * @since 0.1.0
 */
export class GrantStore extends Context.Service<
  GrantStore,
  {
    /** Inserts a pending grant, its device secret and its jobs atomically; `PortTaken` if its port is held. */
    readonly insert: (input: NewGrant) => Effect.Effect<InsertResult, PortTaken | IdempotencyConflict | StoreError>
    readonly get: (grantId: GrantId) => Effect.Effect<Option.Option<Grant>, StoreError>
    /** Newest first. */
    readonly list: (filter: GrantFilter) => Effect.Effect<ReadonlyArray<Grant>, StoreError>
    /** Compare-and-set: bumps generation, stamps the region's next revision, enqueues jobs. */
    readonly update: (input: GrantUpdate) => Effect.Effect<Grant, GenerationConflict | GrantNotFound | InvalidTransition | StoreError>
    /**
     * Claims up to `limit` grants that are pending or active with `expiresAt <= now` (store
     * clock), skipping rows other instances hold, and applies `plan` to each in the same
     * transaction. Returns the updated grants.
     */
    readonly claimExpired: (input: {
      readonly limit: number
      readonly plan: (grant: Grant, now: number) => { readonly patch: GrantPatch; readonly jobs: ReadonlyArray<Job> }
    }) => Effect.Effect<ReadonlyArray<Grant>, StoreError>
    /**
     * Locks the grant's row; if it is live (pending or active, not expired by the store
     * clock) runs `use` while holding the lock and returns its result, else `None`.
     */
    readonly withLiveGrant: <A, E, R>(
      grantId: GrantId,
      use: (grant: Grant) => Effect.Effect<A, E, R>
    ) => Effect.Effect<Option.Option<A>, E | StoreError, R>
    /** The region's revision and its non-revoked grants, read consistently. */
    readonly regionSnapshot: (regionId: RegionId) => Effect.Effect<RegionSnapshot, StoreError>
    /**
     * Raises the region's revision to at least `atLeast` (never lowers it). Used when a
     * regional server recorded a revision the store has not reached (e.g. after the store was
     * restored from a backup), so that the next change of the region is newer than it.
     */
    readonly advanceRegionRevision: (regionId: RegionId, atLeast: number) => Effect.Effect<void, StoreError>
    /** The device's non-revoked grants. */
    readonly deviceGrants: (deviceId: DeviceId) => Effect.Effect<ReadonlyArray<Grant>, StoreError>
    /**
     * Ports of the region held by pending/active/revoking grants, plus ports of grants
     * revoked less than `cooldownMs` ago.
     */
    readonly heldPorts: (regionId: RegionId, cooldownMs: number) => Effect.Effect<ReadonlyArray<number>, StoreError>
    /**
     * Hands out up to `limit` outbox jobs that were never published, or were published more
     * than `republishAfterMs` ago and are still not completed. Safe with several relays.
     */
    readonly takeOutbox: (input: {
      readonly limit: number
      readonly republishAfterMs: number
    }) => Effect.Effect<ReadonlyArray<OutboxEntry>, StoreError>
    /** Records that jobs were handed to the queue. */
    readonly markPublished: (jobIds: ReadonlyArray<JobId>) => Effect.Effect<void, StoreError>
    /** Records that jobs were executed; they leave the outbox. */
    readonly completeJobs: (jobIds: ReadonlyArray<JobId>) => Effect.Effect<void, StoreError>
    /** The device's copy of a grant's password, while it is kept. */
    readonly readDeviceSecret: (grantId: GrantId) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, StoreError>
    /** Deletes the device's copy of a grant's password. */
    readonly wipeDeviceSecret: (grantId: GrantId) => Effect.Effect<void, StoreError>
    /** The device's next command sequence number (strictly increasing, the pull-mode fence). */
    readonly nextDeviceSequence: (deviceId: DeviceId) => Effect.Effect<number, StoreError>
    readonly stats: Effect.Effect<StoreStats, StoreError>
  }
>()("@transient-access/core/GrantStore") {}
