/**
 * The `GrantStore` contract suite: every store adapter (in-memory, PostgreSQL, PGlite)
 * runs it and must pass it unchanged.
 *
 * It talks to the store only through the port, on the **live** clock (a real store's
 * clock is its database's), inside one `@effect/vitest` `layer(...)` block: the layer is
 * built once and shared by the tests, which run one after another. Each test uses its own
 * random region, device and grant ids, so tests never interfere through grants. Global
 * views (`takeOutbox`, `claimExpired`, `stats`) are read as "ours among everything" or as
 * deltas, and the suite completes or claims leftovers of its own earlier tests: give it a
 * store (schema, database) that nothing else writes to while it runs.
 *
 * The optional `probe.rawDump` reads the backend directly (a `pg_dump`, a `SELECT` of every
 * table); the suite searches it for passwords in clear, so an adapter cannot pass by being
 * consistent only with itself.
 *
 * Property tests use fast-check; a failure prints the seed and path to replay it.
 *
 * @since 0.1.0
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import { GrantState } from "../Grant.ts"
import { canTransition } from "../Lifecycle.ts"
import type { Grant, GrantPatch } from "../Grant.ts"
import { GrantStore } from "../GrantStore.ts"
import type { GrantUpdate, IdempotencyKey, NewGrant, OutboxEntry } from "../GrantStore.ts"
import type { ActorId, DeviceId, GrantId, RegionId } from "../Ids.ts"
import { jobFor, provisionJobs, removalJobs } from "../Job.ts"
import type { Job } from "../Job.ts"
import { randomToken } from "../internal/randomToken.ts"
import { makeNewGrant, makeTestGrant, testSuffix } from "../testing/fixtures.ts"

/**
 * Raw reads of the backend, bypassing the port.
 *
 * @category testing
 * @since 0.1.0
 */
export interface GrantStoreProbe {
  /** A dump of everything the backend stores (searched for clear-text passwords). */
  readonly rawDump?: Effect.Effect<string, unknown>
}

/**
 * Options of the suite.
 *
 * @category testing
 * @since 0.1.0
 */
export interface GrantStoreSuiteOptions {
  readonly probe?: GrantStoreProbe
  /** Runs of each fast-check property (default 25). */
  readonly propertyRuns?: number
}

type Store = GrantStore["Service"]

const hour = 60 * 60 * 1000
const newRegion = (): RegionId => `region-${testSuffix()}` as RegionId
const newDevice = (): DeviceId => `device-${testSuffix()}` as DeviceId
const newActor = (): ActorId => `actor-${testSuffix()}` as ActorId
const newGrantId = (): GrantId => `ga_test_${testSuffix()}` as GrantId

const noJobs = (): ReadonlyArray<Job> => []

const newGrant = makeNewGrant

class UseFailed extends Data.TaggedError("UseFailed")<Record<never, never>> {}

/** Fails the test unless `error` has the expected tag, and narrows it. */
const expectTag = <E extends { readonly _tag: string }, T extends E["_tag"]>(error: E, tag: T): Extract<E, { readonly _tag: T }> => {
  assert.strictEqual(error._tag, tag)
  return error as Extract<E, { readonly _tag: T }>
}

const insertGrant = (store: Store, overrides: Partial<Grant> = {}, extra: Partial<NewGrant> = {}) =>
  Effect.gen(function* () {
    const result = yield* store.insert(newGrant(makeTestGrant(overrides), extra))
    assert.strictEqual(result._tag, "Inserted")
    return result.grant
  })

const paths: Readonly<Record<GrantState, ReadonlyArray<GrantPatch>>> = {
  pending: [],
  active: [{ state: "active" }],
  revoking: [{ state: "revoking", revokeReason: "manual" }],
  revoked: [{ state: "revoking", revokeReason: "manual" }, { state: "revoked" }]
}

/** Applies patches one after another (each a fresh compare-and-set). */
const applyAll = (store: Store, grant: Grant, patches: ReadonlyArray<GrantPatch>) =>
  Effect.gen(function* () {
    let current = grant
    for (const patch of patches) {
      current = yield* store.update({ grantId: current.id, expectedGeneration: current.generation, patch, jobs: noJobs })
    }
    return current
  })

/** Inserts a grant and moves it to `state` along the state machine. */
const grantIn = (store: Store, state: GrantState, overrides: Partial<Grant> = {}, extra: Partial<NewGrant> = {}) =>
  Effect.flatMap(insertGrant(store, overrides, extra), (grant) => applyAll(store, grant, paths[state]))

const getOrFail = (store: Store, grantId: GrantId) =>
  Effect.map(store.get(grantId), (grant) => {
    assert.isTrue(Option.isSome(grant), `grant ${grantId} is missing`)
    return Option.getOrThrow(grant)
  })

/** Takes every job currently eligible (long republish delay) until the outbox hands out nothing. */
const drainOutbox = (store: Store) =>
  Effect.gen(function* () {
    const all: Array<OutboxEntry> = []
    for (;;) {
      const batch = yield* store.takeOutbox({ limit: 500, republishAfterMs: hour })
      if (batch.length === 0) return all
      all.push(...batch)
    }
  })

/** Completes every job in the outbox (the suite owns its store), so republication tests see only their own. */
const clearOutbox = (store: Store) =>
  Effect.gen(function* () {
    for (;;) {
      const batch = yield* store.takeOutbox({ limit: 500, republishAfterMs: 0 })
      if (batch.length === 0) return
      yield* store.completeJobs(batch.map((entry) => entry.job.id))
    }
  })

const jobsOf = (entries: ReadonlyArray<OutboxEntry>, grantIds: Iterable<GrantId>): Array<OutboxEntry> => {
  const ids = new Set<string>(grantIds)
  return entries.filter((entry) => ids.has(entry.job.grantId))
}

const expirePlan = (grant: Grant, now: number) => ({
  patch: { state: "revoking", revokeReason: "expired", revokeRequestedAt: now } satisfies GrantPatch,
  jobs: removalJobs(grant, now)
})

/** Calls `claimExpired` until it returns nothing; returns every claimed grant. */
const claimAll = (store: Store, limit: number, plan = expirePlan) =>
  Effect.gen(function* () {
    const all: Array<Grant> = []
    for (;;) {
      const batch = yield* store.claimExpired({ limit, plan })
      assert.isAtMost(batch.length, limit)
      if (batch.length === 0) return all
      all.push(...batch)
    }
  })

const sortedIds = (grants: ReadonlyArray<{ readonly id: string }>): Array<string> => grants.map((grant) => grant.id).sort()

const assertUnique = (values: ReadonlyArray<string>, what: string): void =>
  assert.strictEqual(new Set(values).size, values.length, `${what} contains duplicates`)

/**
 * Registers the contract tests for a `GrantStore` layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = (name: string, storeLayer: Layer.Layer<GrantStore, unknown>, options: GrantStoreSuiteOptions = {}): void => {
  const propertyRuns = options.propertyRuns ?? 25
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`${name} (GrantStore contract)`, (it) => {
    describe("insert, get, list", () => {
      it.effect("insert stamps generation 1 and the region's next revision; get returns the stored grant", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const input = makeTestGrant({ label: "contract" })
          const result = yield* store.insert(newGrant(input))
          assert.strictEqual(result._tag, "Inserted")
          assert.strictEqual(result.grant.generation, 1)
          assert.isAbove(result.grant.revision, 0)
          assert.deepStrictEqual({ ...result.grant, revision: input.revision }, input)
          assert.deepStrictEqual(yield* getOrFail(store, input.id), result.grant)
          assert.strictEqual((yield* store.regionSnapshot(input.regionId)).revision, result.grant.revision)
          assert.isTrue(Option.isNone(yield* store.get(newGrantId())))
        })
      )

      it.effect("list filters by device, region, states and revokeStuck, newest first, with a limit", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const [deviceA, deviceB] = [newDevice(), newDevice()]
          const base = Date.now()
          const g0 = yield* insertGrant(store, { regionId, deviceId: deviceA, createdAt: base })
          const g1 = yield* insertGrant(store, { regionId, deviceId: deviceB, createdAt: base + 1 })
          const g2 = yield* insertGrant(store, { regionId, deviceId: deviceA, createdAt: base + 2 })
          const g3 = yield* grantIn(store, "revoking", { regionId, deviceId: deviceA, createdAt: base + 3 })
          const g3Stuck = yield* applyAll(store, g3, [{ progress: { revokeStuck: true, revokeAttempts: 6 } }])
          const ids = (grants: ReadonlyArray<Grant>) => grants.map((grant) => grant.id)
          assert.deepStrictEqual(ids(yield* store.list({ regionId })), [g3.id, g2.id, g1.id, g0.id])
          assert.deepStrictEqual(ids(yield* store.list({ deviceId: deviceA })), [g3.id, g2.id, g0.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, deviceId: deviceB })), [g1.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, states: ["revoking"] })), [g3.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, states: ["pending", "active"] })), [g2.id, g1.id, g0.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, revokeStuck: true })), [g3.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, revokeStuck: false })), [g2.id, g1.id, g0.id])
          assert.deepStrictEqual(ids(yield* store.list({ regionId, limit: 2 })), [g3.id, g2.id])
          assert.deepStrictEqual(ids(yield* store.list({ deviceId: deviceA, states: ["pending"], limit: 1 })), [g2.id])
          assert.deepStrictEqual((yield* store.list({ regionId, revokeStuck: true }))[0], g3Stuck)
          assert.deepStrictEqual(yield* store.list({ regionId: newRegion() }), [])
        })
      )
    })

    describe("port exclusivity", () => {
      it.effect("a held (region, port) refuses another grant with PortTaken and writes nothing", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const first = yield* insertGrant(store)
          const port = first.endpoint.port
          const revisionBefore = (yield* store.regionSnapshot(first.regionId)).revision
          yield* drainOutbox(store)
          const second = makeTestGrant({ regionId: first.regionId, endpoint: { host: "203.0.113.10", port } })
          const error = expectTag(yield* Effect.flip(store.insert(newGrant(second))), "PortTaken")
          assert.strictEqual(error.regionId, first.regionId)
          assert.strictEqual(error.port, port)
          assert.isTrue(Option.isNone(yield* store.get(second.id)))
          assert.deepStrictEqual(jobsOf(yield* drainOutbox(store), [second.id]), [])
          assert.strictEqual((yield* store.regionSnapshot(first.regionId)).revision, revisionBefore)
          // the same port in another region is free
          yield* insertGrant(store, { endpoint: { host: "203.0.113.10", port } })
        })
      )

      it.effect("the port stays held through active and revoking and is free again only at revoked", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const pending = yield* insertGrant(store)
          const sameSlot = () =>
            makeTestGrant({ regionId: pending.regionId, endpoint: { host: "203.0.113.10", port: pending.endpoint.port } })
          let current = pending
          for (const patch of [{ state: "active" }, { state: "revoking", revokeReason: "manual" }] as const) {
            current = yield* applyAll(store, current, [patch])
            expectTag(yield* Effect.flip(store.insert(newGrant(sameSlot()))), "PortTaken")
          }
          yield* applyAll(store, current, [{ state: "revoked", revokedAt: Date.now() }])
          const next = yield* store.insert(newGrant(sameSlot()))
          assert.strictEqual(next._tag, "Inserted")
        })
      )

      it.effect("heldPorts lists pending, active and revoking ports, plus revoked ones inside the cool-down", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const at = (port: number) => ({ regionId, endpoint: { host: "203.0.113.10", port } })
          yield* grantIn(store, "pending", at(21_001))
          yield* grantIn(store, "active", at(21_002))
          yield* grantIn(store, "revoking", at(21_003))
          const recent = yield* grantIn(store, "revoking", at(21_004))
          yield* applyAll(store, recent, [{ state: "revoked", revokedAt: Date.now() }])
          const old = yield* grantIn(store, "revoking", at(21_005))
          yield* applyAll(store, old, [{ state: "revoked", revokedAt: Date.now() - 10 * 60_000 }])
          assert.deepStrictEqual(yield* store.heldPorts(regionId, 0), [21_001, 21_002, 21_003])
          assert.deepStrictEqual(yield* store.heldPorts(regionId, 60_000), [21_001, 21_002, 21_003, 21_004])
          assert.deepStrictEqual(yield* store.heldPorts(regionId, hour), [21_001, 21_002, 21_003, 21_004, 21_005])
          assert.deepStrictEqual(yield* store.heldPorts(newRegion(), hour), [])
        })
      )
    })

    describe("idempotency keys", () => {
      it.effect("the same key and fingerprint replay the original grant and write nothing", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const key: IdempotencyKey = { actor: newActor(), key: `key-${testSuffix()}`, fingerprint: "request-1" }
          const original = yield* insertGrant(store, {}, { idempotency: Option.some(key) })
          const revisionBefore = (yield* store.regionSnapshot(original.regionId)).revision
          yield* drainOutbox(store)
          // a retry allocates another port and another id: still the same request
          const retry = makeTestGrant({ regionId: original.regionId, deviceId: original.deviceId })
          const replay = yield* store.insert(newGrant(retry, { idempotency: Option.some(key) }))
          assert.strictEqual(replay._tag, "Replayed")
          assert.deepStrictEqual(replay.grant, original)
          // even when the retry picked the port the original holds
          const samePort = makeTestGrant({ regionId: original.regionId, endpoint: original.endpoint })
          const replayAgain = yield* store.insert(newGrant(samePort, { idempotency: Option.some(key) }))
          assert.strictEqual(replayAgain._tag, "Replayed")
          assert.strictEqual(replayAgain.grant.id, original.id)
          assert.isTrue(Option.isNone(yield* store.get(retry.id)))
          assert.isTrue(Option.isNone(yield* store.get(samePort.id)))
          assert.deepStrictEqual(jobsOf(yield* drainOutbox(store), [original.id, retry.id, samePort.id]), [])
          assert.strictEqual((yield* store.regionSnapshot(original.regionId)).revision, revisionBefore)
          // a replay after a change returns the grant as it is now
          const active = yield* applyAll(store, original, [{ state: "active" }])
          const later = yield* store.insert(newGrant(makeTestGrant(), { idempotency: Option.some(key) }))
          assert.deepStrictEqual(later.grant, active)
        })
      )

      it.effect("the same key with another fingerprint is an IdempotencyConflict; keys are per actor", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const key: IdempotencyKey = { actor: newActor(), key: `key-${testSuffix()}`, fingerprint: "request-1" }
          yield* insertGrant(store, {}, { idempotency: Option.some(key) })
          const other = makeTestGrant()
          const error = yield* Effect.flip(
            store.insert(newGrant(other, { idempotency: Option.some({ ...key, fingerprint: "request-2" }) }))
          )
          assert.strictEqual(expectTag(error, "IdempotencyConflict").key, key.key)
          assert.isTrue(Option.isNone(yield* store.get(other.id)))
          const otherActor = yield* store.insert(
            newGrant(other, { idempotency: Option.some({ ...key, actor: newActor(), fingerprint: "request-2" }) })
          )
          assert.strictEqual(otherActor._tag, "Inserted")
        })
      )
    })

    describe("compare-and-set updates", () => {
      it.effect("update bumps generation, stamps the next revision and writes the jobs built from the new grant", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          let seenByInsert: Grant | undefined
          let provisionedJobs: ReadonlyArray<Job> = []
          const inserted = yield* insertGrant(
            store,
            {},
            {
              jobs: (grant) => {
                seenByInsert = grant
                provisionedJobs = provisionJobs(grant, grant.createdAt)
                return provisionedJobs
              }
            }
          )
          assert.deepStrictEqual(seenByInsert, inserted)
          const provisioned = jobsOf(yield* drainOutbox(store), [inserted.id])
          assert.deepStrictEqual(
            provisioned,
            provisionedJobs.map((job) => ({ job, publications: 0 }))
          )
          let seenByUpdate: Grant | undefined
          let written: ReadonlyArray<Job> = []
          const updated = yield* store.update({
            grantId: inserted.id,
            expectedGeneration: 1,
            patch: { state: "active", progress: { natOpen: true } },
            jobs: (grant) => {
              seenByUpdate = grant
              written = [jobFor("nat.open", grant, Date.now())]
              return written
            }
          })
          assert.deepStrictEqual(seenByUpdate, updated)
          assert.strictEqual(updated.generation, 2)
          assert.strictEqual(updated.state, "active")
          assert.isTrue(updated.progress.natOpen)
          assert.isFalse(updated.progress.deviceReady)
          assert.isAbove(updated.revision, inserted.revision)
          assert.deepStrictEqual(yield* getOrFail(store, inserted.id), updated)
          assert.deepStrictEqual(
            jobsOf(yield* drainOutbox(store), [inserted.id]).map((entry) => entry.job),
            written
          )
        })
      )

      it.effect("a stale generation is a GenerationConflict and changes nothing; an unknown grant is GrantNotFound", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const inserted = yield* insertGrant(store)
          const active = yield* applyAll(store, inserted, [{ state: "active" }])
          yield* drainOutbox(store)
          const revisionBefore = (yield* store.regionSnapshot(active.regionId)).revision
          const stale: GrantUpdate = {
            grantId: inserted.id,
            expectedGeneration: 1,
            patch: { state: "revoking", revokeReason: "manual" },
            jobs: (grant) => removalJobs(grant, Date.now())
          }
          const conflict = expectTag(yield* Effect.flip(store.update(stale)), "GenerationConflict")
          assert.strictEqual(conflict.grantId, inserted.id)
          assert.strictEqual(conflict.expected, 1)
          assert.strictEqual(conflict.actual, 2)
          assert.deepStrictEqual(yield* getOrFail(store, inserted.id), active)
          assert.deepStrictEqual(jobsOf(yield* drainOutbox(store), [inserted.id]), [])
          assert.strictEqual((yield* store.regionSnapshot(active.regionId)).revision, revisionBefore)
          const missing = yield* Effect.flip(store.update({ ...stale, grantId: newGrantId() }))
          expectTag(missing, "GrantNotFound")
        })
      )

      it.effect("every (from, to) pair: allowed transitions apply, others are InvalidTransition and change nothing", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          for (const from of GrantState.literals) {
            for (const to of GrantState.literals) {
              const grant = yield* grantIn(store, from, { regionId })
              yield* drainOutbox(store)
              const revisionBefore = (yield* store.regionSnapshot(regionId)).revision
              const exit = yield* Effect.exit(
                store.update({
                  grantId: grant.id,
                  expectedGeneration: grant.generation,
                  patch: { state: to },
                  jobs: (next) => [jobFor("nat.close", next, Date.now())]
                })
              )
              const jobs = jobsOf(yield* drainOutbox(store), [grant.id])
              if (canTransition(from, to)) {
                assert.isTrue(exit._tag === "Success", `${from} -> ${to} should be allowed`)
                assert.strictEqual((yield* getOrFail(store, grant.id)).state, to)
                assert.strictEqual(jobs.length, 1)
              } else {
                const error = yield* Effect.flip(exit)
                const invalid = expectTag(error, "InvalidTransition")
                assert.deepStrictEqual([invalid.grantId, invalid.from, invalid.to], [grant.id, from, to])
                assert.deepStrictEqual(yield* getOrFail(store, grant.id), grant)
                assert.deepStrictEqual(jobs, [])
                assert.strictEqual((yield* store.regionSnapshot(regionId)).revision, revisionBefore)
              }
            }
          }
        })
      )

      it.effect("property: random updates match a model (CAS, transitions, strictly increasing revisions, atomic jobs)", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const command = fc.record({
            insert: fc.boolean(),
            index: fc.nat(5),
            to: fc.option(fc.constantFrom(...GrantState.literals), { nil: undefined }),
            stale: fc.boolean(),
            attempts: fc.nat(9),
            jobCount: fc.nat(2)
          })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), (commands) =>
                Effect.runPromise(runModel(store, commands))
              ),
              { numRuns: propertyRuns }
            )
          )
        })
      )
    })

    describe("claimExpired", () => {
      it.effect("claims only pending/active grants whose expiresAt has passed and applies the plan atomically", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const past = Date.now() - 60_000
          const pending = yield* grantIn(store, "pending", { regionId, expiresAt: past })
          const active = yield* grantIn(store, "active", { regionId, expiresAt: past })
          const future = yield* grantIn(store, "pending", { regionId, expiresAt: Date.now() + hour })
          const revoking = yield* grantIn(store, "revoking", { regionId, expiresAt: past })
          const revoked = yield* grantIn(store, "revoked", { regionId, expiresAt: past })
          const ours = [pending, active, future, revoking, revoked].map((grant) => grant.id)
          yield* drainOutbox(store)
          const planned: Array<{ readonly id: GrantId; readonly now: number }> = []
          const claimed = yield* claimAll(store, 3, (grant, now) => {
            planned.push({ id: grant.id, now })
            return expirePlan(grant, now)
          })
          const claimedOurs = claimed.filter((grant) => ours.includes(grant.id))
          assert.deepStrictEqual(sortedIds(claimedOurs), sortedIds([pending, active]))
          for (const before of [pending, active]) {
            const after = yield* getOrFail(store, before.id)
            assert.deepStrictEqual(
              claimedOurs.find((grant) => grant.id === before.id),
              after
            )
            assert.strictEqual(after.state, "revoking")
            assert.strictEqual(after.revokeReason, "expired")
            assert.strictEqual(after.generation, before.generation + 1)
            assert.isAbove(after.revision, before.revision)
            const plan = planned.find((entry) => entry.id === before.id)
            assert.isDefined(plan)
            assert.isAtLeast(plan?.now ?? 0, before.expiresAt)
          }
          for (const untouched of [future, revoking, revoked]) {
            assert.deepStrictEqual(yield* getOrFail(store, untouched.id), untouched)
          }
          const jobs = jobsOf(yield* drainOutbox(store), ours)
          assert.deepStrictEqual(jobs.map((entry) => entry.job.grantId).sort(), [active.id, active.id, pending.id, pending.id].sort())
          const again = yield* claimAll(store, 10)
          assert.deepStrictEqual(
            again.filter((grant) => ours.includes(grant.id)),
            []
          )
        })
      )

      it.effect("two concurrent claimers over 200 expired grants claim each exactly once", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const past = Date.now() - 1_000
          const grants: Array<Grant> = []
          for (let index = 0; index < 200; index++) {
            grants.push(yield* insertGrant(store, { regionId, expiresAt: past, endpoint: { host: "203.0.113.10", port: 20_000 + index } }))
          }
          const ours = grants.map((grant) => grant.id)
          yield* drainOutbox(store)
          const [first, second] = yield* Effect.all([claimAll(store, 7), claimAll(store, 7)], { concurrency: 2 })
          const everything = [...first, ...second]
          assertUnique(
            everything.map((grant) => grant.id),
            "claims"
          )
          const claimedOurs = everything.filter((grant) => ours.includes(grant.id))
          assert.strictEqual(claimedOurs.length, 200)
          assertUnique(
            claimedOurs.map((grant) => String(grant.revision)),
            "revisions stamped in one region"
          )
          for (const grant of grants) {
            const after = yield* getOrFail(store, grant.id)
            assert.strictEqual(after.state, "revoking")
            assert.strictEqual(after.generation, 2)
          }
          const jobs = jobsOf(yield* drainOutbox(store), ours)
          assert.strictEqual(jobs.length, 400)
          assertUnique(
            jobs.map((entry) => entry.job.id),
            "removal jobs"
          )
        })
      )

      it.effect("skips a grant whose lock withLiveGrant holds (SKIP LOCKED) and claims it once released", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const grant = yield* insertGrant(store, { expiresAt: Date.now() + 400 })
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.forkChild(
            store.withLiveGrant(grant.id, () =>
              Deferred.succeed(started, undefined).pipe(Effect.andThen(Deferred.await(release)), Effect.as("held"))
            )
          )
          yield* Deferred.await(started)
          yield* Effect.sleep("700 millis") // the grant expires while its lock is held
          const whileHeld = yield* claimAll(store, 50).pipe(Effect.timeout("20 seconds"))
          assert.isFalse(
            whileHeld.some((claimed) => claimed.id === grant.id),
            "claimed a locked grant"
          )
          assert.strictEqual((yield* getOrFail(store, grant.id)).state, "pending")
          yield* Deferred.succeed(release, undefined)
          assert.deepStrictEqual(yield* Fiber.join(holder), Option.some("held"))
          const afterRelease = yield* claimAll(store, 50)
          assert.strictEqual(afterRelease.filter((claimed) => claimed.id === grant.id).length, 1)
        })
      )
    })

    describe("withLiveGrant", () => {
      it.effect("runs `use` on a live grant only; None for expired, revoking, revoked or unknown grants", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const pending = yield* grantIn(store, "pending")
          const active = yield* grantIn(store, "active")
          let calls = 0
          const use = (grant: Grant) =>
            Effect.sync(() => {
              calls += 1
              return grant
            })
          assert.deepStrictEqual(yield* store.withLiveGrant(pending.id, use), Option.some(pending))
          assert.deepStrictEqual(yield* store.withLiveGrant(active.id, use), Option.some(active))
          assert.strictEqual(calls, 2)
          const expired = yield* grantIn(store, "active", { expiresAt: Date.now() - 1_000 })
          const revoking = yield* grantIn(store, "revoking")
          const revoked = yield* grantIn(store, "revoked")
          for (const grantId of [expired.id, revoking.id, revoked.id, newGrantId()]) {
            assert.isTrue(Option.isNone(yield* store.withLiveGrant(grantId, use)))
          }
          assert.strictEqual(calls, 2)
        })
      )

      it.effect("a concurrent update waits until `use` is done", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const grant = yield* insertGrant(store)
          const events: Array<string> = []
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const holder = yield* Effect.forkChild(
            store.withLiveGrant(grant.id, () =>
              Effect.gen(function* () {
                yield* Deferred.succeed(started, undefined)
                yield* Deferred.await(release)
                events.push("use done")
              })
            )
          )
          yield* Deferred.await(started)
          const updater = yield* Effect.forkChild(
            store
              .update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "revoking" }, jobs: noJobs })
              .pipe(Effect.tap(() => Effect.sync(() => events.push("update done"))))
          )
          yield* Effect.sleep("300 millis")
          assert.deepStrictEqual(events, [], "the update completed while `use` held the grant")
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(holder)
          const updated = yield* Fiber.join(updater)
          assert.deepStrictEqual(events, ["use done", "update done"])
          assert.strictEqual(updated.generation, 2)
        })
      )

      it.effect("a failing `use` fails withLiveGrant with its error and releases the lock", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const grant = yield* insertGrant(store)
          const error = yield* Effect.flip(store.withLiveGrant(grant.id, () => Effect.fail(new UseFailed())))
          assert.strictEqual(error._tag, "UseFailed")
          const updated = yield* store
            .update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "active" }, jobs: noJobs })
            .pipe(Effect.timeout("20 seconds"))
          assert.strictEqual(updated.state, "active")
        })
      )
    })

    describe("outbox", () => {
      it.effect("hands out a never-published job once, republishes after republishAfterMs, forgets completed jobs", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          yield* clearOutbox(store)
          const grant = yield* insertGrant(store)
          const first = jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: hour }), [grant.id])
          assert.deepStrictEqual(
            first.map((entry) => entry.publications),
            [0, 0]
          )
          assert.deepStrictEqual(jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: hour }), [grant.id]), [])
          const [jobA, jobB] = first.map((entry) => entry.job)
          assert.isDefined(jobA)
          assert.isDefined(jobB)
          if (jobA === undefined || jobB === undefined) return
          yield* store.markPublished([jobA.id, jobB.id])
          yield* Effect.sleep("500 millis")
          assert.deepStrictEqual(jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: hour }), [grant.id]), [])
          const again = jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: 250 }), [grant.id])
          assert.deepStrictEqual(
            again.map((entry) => [entry.job, entry.publications]),
            [
              [jobA, 1],
              [jobB, 1]
            ]
          )
          yield* store.completeJobs([jobA.id])
          yield* Effect.sleep("500 millis")
          const third = jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: 250 }), [grant.id])
          assert.deepStrictEqual(
            third.map((entry) => [entry.job, entry.publications]),
            [[jobB, 2]]
          )
          yield* store.completeJobs([jobB.id, jobB.id])
          yield* Effect.sleep("500 millis")
          assert.deepStrictEqual(jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: 250 }), [grant.id]), [])
        })
      )

      it.effect("a job taken but never marked published is handed out again after republishAfterMs", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          yield* clearOutbox(store)
          const grant = yield* insertGrant(store)
          const taken = jobsOf(yield* drainOutbox(store), [grant.id])
          assert.strictEqual(taken.length, 2)
          yield* Effect.sleep("500 millis")
          const again = jobsOf(yield* store.takeOutbox({ limit: 1_000, republishAfterMs: 250 }), [grant.id])
          assert.deepStrictEqual(
            again.map((entry) => [entry.job.id, entry.publications]).sort(),
            taken.map((entry) => [entry.job.id, 1]).sort()
          )
          yield* store.completeJobs(taken.map((entry) => entry.job.id))
        })
      )

      it.effect("takeOutbox honours its limit", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          yield* clearOutbox(store)
          for (let index = 0; index < 3; index++) yield* insertGrant(store)
          assert.strictEqual((yield* store.takeOutbox({ limit: 4, republishAfterMs: hour })).length, 4)
          assert.strictEqual((yield* store.takeOutbox({ limit: 4, republishAfterMs: hour })).length, 2)
          assert.strictEqual((yield* store.takeOutbox({ limit: 4, republishAfterMs: hour })).length, 0)
        })
      )

      it.effect("concurrent takers never receive the same never-published job", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          yield* clearOutbox(store)
          const regionId = newRegion()
          const ours: Array<GrantId> = []
          for (let index = 0; index < 60; index++) {
            ours.push((yield* insertGrant(store, { regionId, endpoint: { host: "203.0.113.10", port: 20_000 + index } })).id)
          }
          const taker = Effect.gen(function* () {
            const all: Array<OutboxEntry> = []
            for (;;) {
              const batch = yield* store.takeOutbox({ limit: 7, republishAfterMs: hour })
              if (batch.length === 0) return all
              all.push(...batch)
            }
          })
          const results = yield* Effect.all([taker, taker, taker, taker], { concurrency: 4 })
          const everything = results.flat()
          assertUnique(
            everything.map((entry) => entry.job.id),
            "jobs handed out"
          )
          assert.strictEqual(jobsOf(everything, ours).length, 120)
          yield* store.completeJobs(everything.map((entry) => entry.job.id))
        })
      )
    })

    describe("device secret", () => {
      it.effect("round trip, wipe, wiped at revoked, never in clear in grants or in the backend", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const password = randomToken(32, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
          const other = randomToken(32, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
          const inserted = yield* store.insert(newGrant(makeTestGrant(), { deviceSecret: Option.some(Redacted.make(password)) }))
          const grant = inserted.grant
          const read = yield* store.readDeviceSecret(grant.id)
          assert.isTrue(Option.isSome(read))
          assert.strictEqual(Redacted.value(Option.getOrThrow(read)), password)
          const revoking = yield* grantIn(
            store,
            "revoking",
            { deviceId: grant.deviceId },
            {
              deviceSecret: Option.some(Redacted.make(other))
            }
          )
          assert.isTrue(Option.isSome(yield* store.readDeviceSecret(revoking.id)))
          const outputs = JSON.stringify([
            inserted,
            yield* store.get(grant.id),
            yield* store.list({ deviceId: grant.deviceId }),
            yield* store.deviceGrants(grant.deviceId),
            yield* store.regionSnapshot(grant.regionId),
            yield* drainOutbox(store)
          ])
          for (const secret of [password, other]) assert.notInclude(outputs, secret)
          if (options.probe?.rawDump !== undefined) {
            const dump = yield* Effect.orDie(options.probe.rawDump)
            for (const secret of [password, other]) {
              for (const encoded of [secret, Buffer.from(secret).toString("base64"), Buffer.from(secret).toString("hex")]) {
                assert.notInclude(dump, encoded, "a password is stored in clear")
              }
            }
          }
          yield* store.wipeDeviceSecret(grant.id)
          yield* store.wipeDeviceSecret(grant.id)
          assert.isTrue(Option.isNone(yield* store.readDeviceSecret(grant.id)))
          yield* applyAll(store, revoking, [{ state: "revoked" }])
          assert.isTrue(Option.isNone(yield* store.readDeviceSecret(revoking.id)))
          const withoutSecret = yield* insertGrant(store)
          assert.isTrue(Option.isNone(yield* store.readDeviceSecret(withoutSecret.id)))
          assert.isTrue(Option.isNone(yield* store.readDeviceSecret(newGrantId())))
        })
      )
    })

    describe("fences and views", () => {
      it.effect("nextDeviceSequence is strictly increasing per device, also under concurrent calls", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const deviceId = newDevice()
          const concurrent = yield* Effect.all(
            Array.from({ length: 50 }, () => store.nextDeviceSequence(deviceId)),
            { concurrency: "unbounded" }
          )
          assertUnique(concurrent.map(String), "sequence numbers")
          for (const value of concurrent) assert.isTrue(Number.isInteger(value) && value > 0)
          let previous = Math.max(...concurrent)
          for (let index = 0; index < 5; index++) {
            const next = yield* store.nextDeviceSequence(deviceId)
            assert.isAbove(next, previous)
            previous = next
          }
          const elsewhere = yield* store.nextDeviceSequence(newDevice())
          assert.isTrue(Number.isInteger(elsewhere) && elsewhere > 0)
        })
      )

      it.effect("regionSnapshot and deviceGrants show non-revoked grants; the snapshot revision is the region's latest", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const deviceId = newDevice()
          const pending = yield* grantIn(store, "pending", { regionId, deviceId })
          const active = yield* grantIn(store, "active", { regionId })
          const revoking = yield* grantIn(store, "revoking", { regionId, deviceId })
          const revoked = yield* grantIn(store, "revoked", { regionId, deviceId })
          const elsewhere = yield* grantIn(store, "active", { deviceId })
          const snapshot = yield* store.regionSnapshot(regionId)
          assert.deepStrictEqual(sortedIds(snapshot.grants), sortedIds([pending, active, revoking]))
          assert.strictEqual(snapshot.revision, Math.max(pending.revision, active.revision, revoking.revision, revoked.revision))
          for (const grant of snapshot.grants) assert.isAtMost(grant.revision, snapshot.revision)
          assert.deepStrictEqual(sortedIds(yield* store.deviceGrants(deviceId)), sortedIds([pending, revoking, elsewhere]))
          assert.deepStrictEqual(yield* store.regionSnapshot(newRegion()), { revision: 0, grants: [] })
          assert.deepStrictEqual(yield* store.deviceGrants(newDevice()), [])
        })
      )

      it.effect("revisions of one region strictly increase with every change, across grants", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const revisions: Array<number> = []
          const a = yield* insertGrant(store, { regionId })
          revisions.push(a.revision)
          const b = yield* insertGrant(store, { regionId })
          revisions.push(b.revision)
          yield* insertGrant(store) // another region does not matter here
          revisions.push((yield* applyAll(store, a, [{ state: "active" }])).revision)
          revisions.push((yield* applyAll(store, b, [{ progress: { provisionAttempts: 1 } }])).revision)
          for (let index = 1; index < revisions.length; index++) {
            assert.isAbove(revisions[index] ?? 0, revisions[index - 1] ?? 0)
          }
          assert.strictEqual((yield* store.regionSnapshot(regionId)).revision, revisions.at(-1))
        })
      )

      it.effect("advanceRegionRevision raises the region's revision (never lowers it); the next change is newer", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const regionId = newRegion()
          const grant = yield* insertGrant(store, { regionId })
          yield* store.advanceRegionRevision(regionId, grant.revision + 1000)
          assert.strictEqual((yield* store.regionSnapshot(regionId)).revision, grant.revision + 1000)
          yield* store.advanceRegionRevision(regionId, 3)
          assert.strictEqual((yield* store.regionSnapshot(regionId)).revision, grant.revision + 1000)
          const touched = yield* applyAll(store, grant, [{}])
          assert.isAbove(touched.revision, grant.revision + 1000)
          const fresh = newRegion()
          yield* store.advanceRegionRevision(fresh, 50)
          const first = yield* insertGrant(store, { regionId: fresh })
          assert.isAbove(first.revision, 50)
        })
      )

      it.effect("stats count grants by state, stuck revokes and the outbox", () =>
        Effect.gen(function* () {
          const store = yield* GrantStore
          const before = yield* store.stats
          const stuck = { progress: { revokeStuck: true } } satisfies GrantPatch
          yield* grantIn(store, "pending")
          yield* grantIn(store, "active")
          const revoking = yield* grantIn(store, "revoking")
          yield* applyAll(store, revoking, [stuck])
          const revoked = yield* grantIn(store, "revoking")
          yield* applyAll(store, revoked, [stuck, { state: "revoked" }])
          const after = yield* store.stats
          const delta = (state: GrantState) => after.grantsByState[state] - before.grantsByState[state]
          assert.deepStrictEqual(GrantState.literals.map(delta), [1, 1, 1, 1])
          assert.strictEqual(after.revokeStuck - before.revokeStuck, 1)
          assert.strictEqual(after.outboxPending - before.outboxPending, 8)
          yield* Effect.sleep("150 millis")
          assert.isAtLeast((yield* store.stats).oldestOutboxAgeMs, 150)
          const everything = yield* drainOutbox(store)
          yield* store.completeJobs(everything.map((entry) => entry.job.id))
          const drained = yield* store.stats
          assert.isAtMost(drained.outboxPending, after.outboxPending - 8)
        })
      )
    })
  })
}

interface ModelCommand {
  readonly insert: boolean
  readonly index: number
  readonly to: GrantState | undefined
  readonly stale: boolean
  readonly attempts: number
  readonly jobCount: number
}

/** Runs random commands against the store and a model of one region, checking each outcome. */
const runModel = (store: Store, commands: ReadonlyArray<ModelCommand>) =>
  Effect.gen(function* () {
    const regionId = newRegion()
    const model: Array<Grant> = []
    const expectedJobs = new Set<string>()
    let revision = 0
    let port = 20_000
    const insertOne = Effect.gen(function* () {
      const grant = yield* insertGrant(store, { regionId, endpoint: { host: "203.0.113.10", port: port++ } })
      assert.isAbove(grant.revision, revision)
      revision = grant.revision
      model.push(grant)
      return grant
    })
    yield* insertOne
    for (const command of commands) {
      if (command.insert && model.length < 6) {
        yield* insertOne
        continue
      }
      const current = model[command.index % model.length]
      if (current === undefined) continue
      const patch: GrantPatch = {
        ...(command.to === undefined ? {} : { state: command.to }),
        progress: { provisionAttempts: command.attempts }
      }
      let written: ReadonlyArray<Job> = []
      const exit = yield* Effect.exit(
        store.update({
          grantId: current.id,
          expectedGeneration: command.stale ? current.generation - 1 : current.generation,
          patch,
          jobs: (grant) => {
            written = Array.from({ length: command.jobCount }, () => jobFor("nat.close", grant, Date.now()))
            return written
          }
        })
      )
      const expectedError = command.stale
        ? "GenerationConflict"
        : command.to !== undefined && !canTransition(current.state, command.to)
          ? "InvalidTransition"
          : undefined
      if (expectedError === undefined) {
        assert.isTrue(exit._tag === "Success", `update should succeed: ${JSON.stringify(command)}`)
        const updated = yield* exit
        assert.strictEqual(updated.generation, current.generation + 1)
        assert.strictEqual(updated.state, command.to ?? current.state)
        assert.strictEqual(updated.progress.provisionAttempts, command.attempts)
        assert.isAbove(updated.revision, revision, "revision must strictly increase")
        revision = updated.revision
        for (const job of written) expectedJobs.add(job.id)
        model[model.indexOf(current)] = updated
      } else {
        const error = yield* Effect.flip(exit)
        assert.strictEqual(error._tag, expectedError)
      }
      assert.deepStrictEqual(
        yield* getOrFail(store, current.id),
        model.find((grant) => grant.id === current.id)
      )
      assert.strictEqual((yield* store.regionSnapshot(regionId)).revision, revision)
    }
    const outbox = yield* drainOutbox(store)
    const ours = new Set(model.map((grant) => grant.id as string))
    const updateJobs = outbox.filter((entry) => ours.has(entry.job.grantId) && entry.job.type === "nat.close")
    assert.deepStrictEqual(updateJobs.map((entry) => entry.job.id).sort(), [...expectedJobs].sort())
    return true
  })
