/**
 * The in-memory `GrantStore`: the embedded default and the store of the core's tests.
 *
 * It behaves like the PostgreSQL store (both pass `GrantStoreSuite`):
 *
 * - **Atomic**: every operation checks everything first and then mutates inside one
 *   synchronous block (JavaScript runs one block at a time, so no other fiber observes a
 *   half-applied change). A failed operation changes nothing: no grant, no job, no revision.
 * - **Per-grant locks** (one `Semaphore` per grant) play the role of row locks:
 *   `withLiveGrant` holds the lock while `use` runs, `update` waits for it, and
 *   `claimExpired` skips grants whose lock is held (`FOR UPDATE SKIP LOCKED`). `use` must not
 *   `update` its own grant: it would wait for itself, as it would on PostgreSQL.
 * - **Store clock**: time comes from Effect's `Clock` of the calling fiber, so `TestClock`
 *   controls expiry, cool-downs, outbox republication and idempotency retention.
 * - **Secrets**: the device's copy of a password is held only sealed by `SecretBox`
 *   (AAD = `SecretBox.deviceSecretAad(grantId, deviceId)`) and opened on read; it is wiped
 *   on demand and when the grant becomes `revoked`.
 * - **Values**: grants and jobs are checked against their schemas when written, and a grant's
 *   `expiresAt` may not precede its `createdAt` (the PostgreSQL table's check); a value that
 *   fails is refused with `StoreError` `Corrupt` and nothing is written. Values are stored
 *   frozen, so callers can never change the store's copy.
 * - **Outbox**: taking a job counts as a publication (its time is stamped and `publications`
 *   is counted), so concurrent relays never get the same job twice, and a job whose relay
 *   died before `markPublished` is handed out again after `republishAfterMs`.
 *
 * State lives as long as the layer; nothing survives the process.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { applyPatch, Grant, isLive, portHoldingStates } from "./Grant.ts"
import { canTransition } from "./Lifecycle.ts"
import type { GrantPatch, GrantState } from "./Grant.ts"
import {
  GenerationConflict,
  GrantNotFound,
  GrantStore,
  IdempotencyConflict,
  InvalidTransition,
  PortTaken,
  StoreError
} from "./GrantStore.ts"
import type { GrantFilter, GrantUpdate, InsertResult, NewGrant, OutboxEntry, StoreStats } from "./GrantStore.ts"
import type { DeviceId, GrantId, JobId, RegionId } from "./Ids.ts"
import { Job } from "./Job.ts"
import * as SecretBox from "./SecretBox.ts"

/**
 * How long an idempotency key is remembered (24 hours, store clock); afterwards the same
 * key starts a new request.
 *
 * @category constructors
 * @since 0.1.0
 */
export const idempotencyRetentionMs = 24 * 60 * 60 * 1000

/**
 * One outbox row as the store holds it.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutboxRow {
  readonly job: Job
  /** Store time at which the job was written. */
  readonly enqueuedAt: number
  /** Hand-outs so far. */
  readonly publications: number
  /** Store time of the last hand-out or `markPublished`, `null` before the first. */
  readonly lastPublishedAt: number | null
}

/**
 * A copy of everything the store holds (test control; the contract suite does not use it).
 *
 * @category testing
 * @since 0.1.0
 */
export interface Snapshot {
  readonly grants: ReadonlyArray<Grant>
  /** Sealed device secrets by grant id (never the clear text). */
  readonly sealedSecrets: Readonly<Record<string, string>>
  readonly regionRevisions: Readonly<Record<string, number>>
  readonly deviceSequences: Readonly<Record<string, number>>
  readonly outbox: ReadonlyArray<OutboxRow>
  readonly idempotencyKeys: ReadonlyArray<{ readonly actor: string; readonly key: string; readonly grantId: string }>
}

interface IdempotencyRow {
  readonly actor: string
  readonly key: string
  readonly fingerprint: string
  readonly grantId: GrantId
  readonly createdAt: number
}

interface MutableOutboxRow {
  readonly job: Job
  readonly enqueuedAt: number
  publications: number
  lastPublishedAt: number | null
}

interface StoredGrant {
  readonly grant: Grant
  /** Insertion order: the tie-breaker of "newest first". */
  readonly sequence: number
}

interface State {
  readonly grants: Map<GrantId, StoredGrant>
  readonly unrevoked: Set<GrantId>
  readonly byRegion: Map<RegionId, Set<GrantId>>
  readonly byDevice: Map<DeviceId, Set<GrantId>>
  /** `region|port` of grants in a port-holding state. */
  readonly portHolders: Map<string, GrantId>
  readonly secrets: Map<GrantId, string>
  readonly regionRevisions: Map<RegionId, number>
  readonly deviceSequences: Map<DeviceId, number>
  readonly idempotency: Map<string, IdempotencyRow>
  readonly outbox: Map<JobId, MutableOutboxRow>
  nextSequence: number
}

const emptyState = (): State => ({
  grants: new Map(),
  unrevoked: new Set(),
  byRegion: new Map(),
  byDevice: new Map(),
  portHolders: new Map(),
  secrets: new Map(),
  regionRevisions: new Map(),
  deviceSequences: new Map(),
  idempotency: new Map(),
  outbox: new Map(),
  nextSequence: 0
})

const portKey = (regionId: string, port: number): string => `${regionId}|${port}`
const idempotencyKeyOf = (actor: string, key: string): string => `${actor}\u0000${key}`
const holdsPort = (state: GrantState): boolean => portHoldingStates.includes(state)

const decodeGrant = Schema.decodeUnknownResult(Grant)
const decodeJob = Schema.decodeUnknownResult(Job)

const corrupt = (message: string) => new StoreError({ reason: "Corrupt", message })

const freezeGrant = (grant: Grant): Grant => {
  Object.freeze(grant.endpoint)
  Object.freeze(grant.target)
  if (grant.forward !== null) Object.freeze(grant.forward)
  Object.freeze(grant.progress)
  return Object.freeze(grant)
}

/** Schema-checks a grant about to be written; the stored copy is fresh and frozen. */
const checkGrant = (grant: Grant): Result.Result<Grant, StoreError> =>
  Result.match(decodeGrant(grant), {
    onFailure: (error) => Result.fail(corrupt(`refusing to store an invalid grant: ${error.message}`)),
    onSuccess: (decoded) =>
      decoded.expiresAt < decoded.createdAt
        ? Result.fail(corrupt(`refusing to store grant ${decoded.id}: expiresAt is before createdAt`))
        : Result.succeed(freezeGrant(decoded))
  })

/** Schema-checks jobs about to be written; refuses ids already in the outbox or repeated. */
const checkJobs = (
  outbox: ReadonlyMap<JobId, unknown>,
  jobs: ReadonlyArray<Job>,
  seen: Set<string> = new Set()
): Result.Result<ReadonlyArray<Job>, StoreError> => {
  const checked: Array<Job> = []
  for (const job of jobs) {
    const decoded = decodeJob(job)
    if (Result.isFailure(decoded)) return Result.fail(corrupt(`refusing to store an invalid job: ${decoded.failure.message}`))
    if (outbox.has(decoded.success.id) || seen.has(decoded.success.id)) {
      return Result.fail(new StoreError({ reason: "Unknown", message: `duplicate job id ${decoded.success.id}` }))
    }
    seen.add(decoded.success.id)
    checked.push(Object.freeze(decoded.success))
  }
  return Result.succeed(checked)
}

const newestFirst = (left: StoredGrant, right: StoredGrant): number =>
  right.grant.createdAt - left.grant.createdAt || right.sequence - left.sequence

const addToIndex = <K>(index: Map<K, Set<GrantId>>, key: K, grantId: GrantId): void => {
  const ids = index.get(key)
  if (ids === undefined) index.set(key, new Set([grantId]))
  else ids.add(grantId)
}

/** Writes a grant and keeps every index in step (call only inside a critical section). */
const putGrant = (state: State, next: Grant): void => {
  const previous = state.grants.get(next.id)
  const key = portKey(next.regionId, next.endpoint.port)
  if (previous !== undefined && holdsPort(previous.grant.state) && !holdsPort(next.state)) {
    state.portHolders.delete(key)
  }
  if (holdsPort(next.state)) state.portHolders.set(key, next.id)
  if (next.state === "revoked") {
    state.unrevoked.delete(next.id)
    state.secrets.delete(next.id)
  } else {
    state.unrevoked.add(next.id)
  }
  if (previous === undefined) {
    state.grants.set(next.id, { grant: next, sequence: state.nextSequence++ })
    addToIndex(state.byRegion, next.regionId, next.id)
    addToIndex(state.byDevice, next.deviceId, next.id)
  } else {
    state.grants.set(next.id, { grant: next, sequence: previous.sequence })
  }
}

const enqueue = (state: State, jobs: ReadonlyArray<Job>, now: number): void => {
  for (const job of jobs) state.outbox.set(job.id, { job, enqueuedAt: now, publications: 0, lastPublishedAt: null })
}

const grantsOf = (state: State, ids: Iterable<GrantId>): Array<StoredGrant> => {
  const rows: Array<StoredGrant> = []
  for (const id of ids) {
    const row = state.grants.get(id)
    if (row !== undefined) rows.push(row)
  }
  return rows
}

const matches = (grant: Grant, filter: GrantFilter): boolean =>
  (filter.deviceId === undefined || grant.deviceId === filter.deviceId) &&
  (filter.regionId === undefined || grant.regionId === filter.regionId) &&
  (filter.states === undefined || filter.states.includes(grant.state)) &&
  (filter.revokeStuck === undefined || grant.progress.revokeStuck === filter.revokeStuck)

/** A grant after a patch, with its next generation and the region's next revision. */
const patched = (
  state: State,
  revisions: Map<RegionId, number>,
  current: Grant,
  patch: GrantPatch
): Result.Result<Grant, InvalidTransition | StoreError> => {
  if (patch.state !== undefined && !canTransition(current.state, patch.state)) {
    return Result.fail(new InvalidTransition({ grantId: current.id, from: current.state, to: patch.state }))
  }
  const revision = (revisions.get(current.regionId) ?? state.regionRevisions.get(current.regionId) ?? 0) + 1
  revisions.set(current.regionId, revision)
  return checkGrant({ ...applyPatch(current, patch), generation: current.generation + 1, revision })
}

const commitRevisions = (state: State, revisions: ReadonlyMap<RegionId, number>): void => {
  for (const [regionId, revision] of revisions) state.regionRevisions.set(regionId, revision)
}

const forgetOldIdempotencyKeys = (state: State, now: number): void => {
  for (const [key, row] of state.idempotency) {
    if (now - row.createdAt < idempotencyRetentionMs) break
    state.idempotency.delete(key)
  }
}

const snapshotOf = (state: State): Snapshot => ({
  grants: [...state.grants.values()].sort(newestFirst).map((row) => row.grant),
  sealedSecrets: Object.fromEntries(state.secrets),
  regionRevisions: Object.fromEntries(state.regionRevisions),
  deviceSequences: Object.fromEntries(state.deviceSequences),
  outbox: [...state.outbox.values()].map((row) => ({ ...row })),
  idempotencyKeys: [...state.idempotency.values()].map((row) => ({
    actor: row.actor,
    key: row.key,
    grantId: row.grantId
  }))
})

const makeFromState = (state: State): Effect.Effect<GrantStore["Service"], never, SecretBox.SecretBox> =>
  Effect.gen(function* () {
    const secretBox = yield* SecretBox.SecretBox
    const locks = new Map<GrantId, Semaphore.Semaphore>()
    const held = new Set<GrantId>()

    /** Runs `effect` holding the grant's lock; `held` makes the lock visible to `claimExpired`. */
    const withGrantLock = <A, E, R>(grantId: GrantId, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
      let lock = locks.get(grantId)
      if (lock === undefined) {
        lock = Semaphore.makeUnsafe(1)
        locks.set(grantId, lock)
      }
      return lock.withPermit(
        Effect.acquireUseRelease(
          Effect.sync(() => held.add(grantId)),
          () => effect,
          () => Effect.sync(() => held.delete(grantId))
        )
      )
    }

    const sealSecret = (input: NewGrant): Effect.Effect<Option.Option<string>, StoreError> =>
      Option.match(input.deviceSecret, {
        onNone: () => Effect.succeed(Option.none()),
        onSome: (secret) =>
          secretBox.seal(secret, SecretBox.deviceSecretAad(input.grant.id, input.grant.deviceId)).pipe(
            Effect.map(Option.some),
            Effect.mapError((error) => new StoreError({ reason: "Unknown", message: `sealing failed: ${error.message}` }))
          )
      })

    const insertNow = (
      input: NewGrant,
      sealed: Option.Option<string>,
      now: number
    ): Effect.Effect<InsertResult, PortTaken | IdempotencyConflict | StoreError> => {
      forgetOldIdempotencyKeys(state, now)
      const idempotency = Option.getOrUndefined(input.idempotency)
      const idempotencyKey = idempotency && idempotencyKeyOf(idempotency.actor, idempotency.key)
      const previous = idempotencyKey === undefined ? undefined : state.idempotency.get(idempotencyKey)
      if (idempotency !== undefined && previous !== undefined && now - previous.createdAt < idempotencyRetentionMs) {
        const original = state.grants.get(previous.grantId)
        if (previous.fingerprint !== idempotency.fingerprint) {
          return Effect.fail(new IdempotencyConflict({ key: idempotency.key }))
        }
        if (original !== undefined) return Effect.succeed({ _tag: "Replayed", grant: original.grant })
      }
      if (input.grant.state !== "pending") {
        return Effect.fail(new StoreError({ reason: "Unknown", message: `insert expects a pending grant, got ${input.grant.state}` }))
      }
      if (state.grants.has(input.grant.id)) {
        return Effect.fail(new StoreError({ reason: "Unknown", message: `grant ${input.grant.id} already exists` }))
      }
      if (state.portHolders.has(portKey(input.grant.regionId, input.grant.endpoint.port))) {
        return Effect.fail(new PortTaken({ regionId: input.grant.regionId, port: input.grant.endpoint.port }))
      }
      const revision = (state.regionRevisions.get(input.grant.regionId) ?? 0) + 1
      const grant = checkGrant({ ...input.grant, generation: 1, revision })
      if (Result.isFailure(grant)) return Effect.fail(grant.failure)
      const jobs = checkJobs(state.outbox, input.jobs(grant.success))
      if (Result.isFailure(jobs)) return Effect.fail(jobs.failure)
      // commit
      putGrant(state, grant.success)
      state.regionRevisions.set(grant.success.regionId, revision)
      if (Option.isSome(sealed)) state.secrets.set(grant.success.id, sealed.value)
      if (idempotency !== undefined && idempotencyKey !== undefined) {
        state.idempotency.delete(idempotencyKey)
        state.idempotency.set(idempotencyKey, {
          actor: idempotency.actor,
          key: idempotency.key,
          fingerprint: idempotency.fingerprint,
          grantId: grant.success.id,
          createdAt: now
        })
      }
      enqueue(state, jobs.success, now)
      return Effect.succeed({ _tag: "Inserted", grant: grant.success })
    }

    const updateNow = (
      input: GrantUpdate,
      now: number
    ): Effect.Effect<Grant, GenerationConflict | GrantNotFound | InvalidTransition | StoreError> => {
      const current = state.grants.get(input.grantId)?.grant
      if (current === undefined) return Effect.fail(new GrantNotFound({ grantId: input.grantId }))
      if (current.generation !== input.expectedGeneration) {
        return Effect.fail(
          new GenerationConflict({
            grantId: input.grantId,
            expected: input.expectedGeneration,
            actual: current.generation
          })
        )
      }
      const revisions = new Map<RegionId, number>()
      const next = patched(state, revisions, current, input.patch)
      if (Result.isFailure(next)) return Effect.fail(next.failure)
      const jobs = checkJobs(state.outbox, input.jobs(next.success))
      if (Result.isFailure(jobs)) return Effect.fail(jobs.failure)
      // commit
      putGrant(state, next.success)
      commitRevisions(state, revisions)
      enqueue(state, jobs.success, now)
      return Effect.succeed(next.success)
    }

    const claimNow = (
      input: Parameters<GrantStore["Service"]["claimExpired"]>[0],
      now: number
    ): Effect.Effect<ReadonlyArray<Grant>, StoreError> => {
      const candidates = grantsOf(state, state.unrevoked)
        .filter(({ grant }) => (grant.state === "pending" || grant.state === "active") && grant.expiresAt <= now && !held.has(grant.id))
        .sort((left, right) => left.grant.expiresAt - right.grant.expiresAt || left.sequence - right.sequence)
        .slice(0, Math.max(0, input.limit))
      const revisions = new Map<RegionId, number>()
      const seenJobs = new Set<string>()
      const claimed: Array<{ readonly grant: Grant; readonly jobs: ReadonlyArray<Job> }> = []
      for (const { grant } of candidates) {
        const plan = input.plan(grant, now)
        const next = patched(state, revisions, grant, plan.patch)
        if (Result.isFailure(next)) {
          return Effect.fail(new StoreError({ reason: "Unknown", message: `claimExpired plan refused: ${next.failure.message}` }))
        }
        const jobs = checkJobs(state.outbox, plan.jobs, seenJobs)
        if (Result.isFailure(jobs)) return Effect.fail(jobs.failure)
        claimed.push({ grant: next.success, jobs: jobs.success })
      }
      // commit
      for (const { grant, jobs } of claimed) {
        putGrant(state, grant)
        enqueue(state, jobs, now)
      }
      commitRevisions(state, revisions)
      return Effect.succeed(claimed.map(({ grant }) => grant))
    }

    const takeNow = (input: Parameters<GrantStore["Service"]["takeOutbox"]>[0], now: number): ReadonlyArray<OutboxEntry> => {
      const taken: Array<OutboxEntry> = []
      for (const row of state.outbox.values()) {
        if (taken.length >= input.limit) break
        if (row.lastPublishedAt !== null && now - row.lastPublishedAt <= input.republishAfterMs) continue
        taken.push({ job: row.job, publications: row.publications })
        row.publications += 1
        row.lastPublishedAt = now
      }
      return taken
    }

    const unrevokedOf = (ids: ReadonlySet<GrantId> | undefined): ReadonlyArray<Grant> =>
      grantsOf(state, ids ?? [])
        .filter(({ grant }) => grant.state !== "revoked")
        .sort(newestFirst)
        .map(({ grant }) => grant)

    return GrantStore.of({
      insert: Effect.fn("GrantStore.insert")(function* (input: NewGrant) {
        const sealed = yield* sealSecret(input)
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.suspend(() => insertNow(input, sealed, now))
      }),

      get: (grantId) => Effect.sync(() => Option.fromNullishOr(state.grants.get(grantId)?.grant)),

      list: (filter) =>
        Effect.sync(() => {
          const ids =
            filter.deviceId !== undefined
              ? state.byDevice.get(filter.deviceId)
              : filter.regionId !== undefined
                ? state.byRegion.get(filter.regionId)
                : state.grants.keys()
          return grantsOf(state, ids ?? [])
            .filter(({ grant }) => matches(grant, filter))
            .sort(newestFirst)
            .slice(0, filter.limit === undefined ? undefined : Math.max(0, filter.limit))
            .map(({ grant }) => grant)
        }),

      update: Effect.fn("GrantStore.update")(function* (input: GrantUpdate) {
        if (!state.grants.has(input.grantId)) return yield* new GrantNotFound({ grantId: input.grantId })
        return yield* withGrantLock(
          input.grantId,
          Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.suspend(() => updateNow(input, now)))
        )
      }),

      claimExpired: Effect.fn("GrantStore.claimExpired")(function* (input) {
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.suspend(() => claimNow(input, now))
      }),

      withLiveGrant: <A, E, R>(grantId: GrantId, use: (grant: Grant) => Effect.Effect<A, E, R>) =>
        Effect.suspend((): Effect.Effect<Option.Option<A>, E, R> => {
          if (!state.grants.has(grantId)) return Effect.succeed(Option.none())
          return withGrantLock(
            grantId,
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.suspend(() => {
                const grant = state.grants.get(grantId)?.grant
                return grant !== undefined && isLive(grant, now) ? Effect.map(use(grant), Option.some) : Effect.succeed(Option.none())
              })
            )
          )
        }).pipe(Effect.withSpan("GrantStore.withLiveGrant")),

      regionSnapshot: (regionId) =>
        Effect.sync(() => ({
          revision: state.regionRevisions.get(regionId) ?? 0,
          grants: unrevokedOf(state.byRegion.get(regionId))
        })),

      advanceRegionRevision: (regionId, atLeast) =>
        Effect.sync(() => {
          if (Number.isSafeInteger(atLeast) && atLeast > (state.regionRevisions.get(regionId) ?? 0)) {
            state.regionRevisions.set(regionId, atLeast)
          }
        }),

      deviceGrants: (deviceId) => Effect.sync(() => unrevokedOf(state.byDevice.get(deviceId))),

      heldPorts: (regionId, cooldownMs) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const ports = new Set<number>()
          for (const { grant } of grantsOf(state, state.byRegion.get(regionId) ?? [])) {
            const cooling = grant.state === "revoked" && grant.revokedAt !== null && now - grant.revokedAt < cooldownMs
            if (holdsPort(grant.state) || cooling) ports.add(grant.endpoint.port)
          }
          return [...ports].sort((left, right) => left - right)
        }),

      takeOutbox: (input) => Effect.map(Clock.currentTimeMillis, (now) => takeNow(input, now)),

      markPublished: (jobIds) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          for (const jobId of jobIds) {
            const row = state.outbox.get(jobId)
            if (row !== undefined) row.lastPublishedAt = now
          }
        }),

      completeJobs: (jobIds) =>
        Effect.sync(() => {
          for (const jobId of jobIds) state.outbox.delete(jobId)
        }),

      readDeviceSecret: (grantId) =>
        Effect.suspend(() => {
          const sealed = state.secrets.get(grantId)
          const grant = state.grants.get(grantId)?.grant
          if (sealed === undefined || grant === undefined) return Effect.succeed(Option.none())
          return secretBox.open(sealed, SecretBox.deviceSecretAad(grant.id, grant.deviceId)).pipe(
            Effect.map(Option.some),
            Effect.mapError((error) => corrupt(`device secret of ${grantId} does not open: ${error.message}`))
          )
        }),

      wipeDeviceSecret: (grantId) => Effect.sync(() => void state.secrets.delete(grantId)),

      nextDeviceSequence: (deviceId) =>
        Effect.sync(() => {
          const next = (state.deviceSequences.get(deviceId) ?? 0) + 1
          state.deviceSequences.set(deviceId, next)
          return next
        }),

      stats: Effect.map(Clock.currentTimeMillis, (now): StoreStats => {
        const grantsByState: Record<GrantState, number> = { pending: 0, active: 0, revoking: 0, revoked: 0 }
        let revokeStuck = 0
        for (const { grant } of state.grants.values()) {
          grantsByState[grant.state] += 1
          if (grant.state === "revoking" && grant.progress.revokeStuck) revokeStuck += 1
        }
        let oldest = now
        for (const row of state.outbox.values()) oldest = Math.min(oldest, row.enqueuedAt)
        return {
          grantsByState,
          revokeStuck,
          outboxPending: state.outbox.size,
          oldestOutboxAgeMs: Math.max(0, now - oldest)
        }
      })
    })
  })

/**
 * Builds an empty in-memory store.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<GrantStore["Service"], never, SecretBox.SecretBox> = Effect.suspend(() => makeFromState(emptyState()))

/**
 * The in-memory store as a layer; each build starts empty.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<GrantStore, never, SecretBox.SecretBox> = Layer.effect(GrantStore, make)

/**
 * The in-memory store with a process-lifetime random sealing key (`SecretBox.layerEphemeral`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEphemeral: Layer.Layer<GrantStore> = layer.pipe(Layer.provide(SecretBox.layerEphemeral))

/**
 * A store layer plus raw reads of the store most recently built from it (test control):
 * `peek` returns a copy of the state, `dump` its JSON (the contract suite's `rawDump` probe).
 *
 * @category testing
 * @since 0.1.0
 */
export const testKit = (): {
  readonly layer: Layer.Layer<GrantStore>
  readonly peek: Effect.Effect<Snapshot>
  readonly dump: Effect.Effect<string>
} => {
  let current: State | undefined
  const peek = Effect.sync(() => snapshotOf(current ?? emptyState()))
  return {
    layer: Layer.effect(
      GrantStore,
      Effect.suspend(() => {
        const state = emptyState()
        current = state
        return makeFromState(state)
      })
    ).pipe(Layer.provide(SecretBox.layerEphemeral)),
    peek,
    dump: Effect.map(peek, (snapshot) => JSON.stringify(snapshot))
  }
}
