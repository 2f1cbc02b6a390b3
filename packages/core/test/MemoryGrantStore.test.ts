import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import type { Grant } from "../src/Grant.ts"
import { GrantStore } from "../src/GrantStore.ts"
import type { StoreError } from "../src/GrantStore.ts"
import { removalJobs } from "../src/Job.ts"
import * as MemoryGrantStore from "../src/MemoryGrantStore.ts"
import * as SecretBox from "../src/SecretBox.ts"
import { makeNewGrant, makeTestGrant } from "../src/testing/fixtures.ts"
import { suite } from "../src/suites/GrantStoreSuite.ts"

const kit = MemoryGrantStore.testKit()
suite("MemoryGrantStore", kit.layer, { probe: { rawDump: kit.dump } })

const minute = 60_000
const day = 24 * 60 * minute

/** A grant on the TestClock's timeline (which starts at 0). */
const grantAt = (overrides: Partial<Grant> = {}): Grant => makeTestGrant({ createdAt: 0, expiresAt: 10 * minute, ...overrides })

const newGrant = makeNewGrant

const plan = (grant: Grant, now: number) => ({
  patch: { state: "revoking" as const, revokeReason: "expired" as const, revokeRequestedAt: now },
  jobs: removalJobs(grant, now)
})

describe("MemoryGrantStore on the TestClock", () => {
  it.effect("expiry follows the store clock exactly: live before expiresAt, claimable at expiresAt", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(grantAt({ expiresAt: 10 * minute })))).grant
      yield* TestClock.setTime(10 * minute - 1)
      assert.deepStrictEqual(yield* store.claimExpired({ limit: 10, plan }), [])
      assert.isTrue(Option.isSome(yield* store.withLiveGrant(grant.id, Effect.succeed)))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* store.withLiveGrant(grant.id, Effect.succeed)))
      const claimed = yield* store.claimExpired({ limit: 10, plan })
      assert.deepStrictEqual(
        claimed.map((claimedGrant) => [claimedGrant.id, claimedGrant.revokeRequestedAt]),
        [[grant.id, 10 * minute]]
      )
      assert.deepStrictEqual(yield* store.claimExpired({ limit: 10, plan }), [])
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("claimExpired takes the oldest expiries first, up to the limit", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const late = (yield* store.insert(newGrant(grantAt({ expiresAt: 3 * minute })))).grant
      const early = (yield* store.insert(newGrant(grantAt({ expiresAt: 1 * minute })))).grant
      const middle = (yield* store.insert(newGrant(grantAt({ expiresAt: 2 * minute })))).grant
      yield* TestClock.setTime(5 * minute)
      assert.deepStrictEqual(
        (yield* store.claimExpired({ limit: 2, plan })).map((grant) => grant.id),
        [early.id, middle.id]
      )
      assert.deepStrictEqual(
        (yield* store.claimExpired({ limit: 2, plan })).map((grant) => grant.id),
        [late.id]
      )
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("idempotency keys are kept for 24 hours, then forgotten", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const key = Option.some({ actor: "alice" as never, key: "k-1", fingerprint: "f" })
      const original = yield* store.insert(newGrant(grantAt(), { idempotency: key }))
      yield* TestClock.setTime(day - 1)
      const replay = yield* store.insert(newGrant(grantAt(), { idempotency: key }))
      assert.deepStrictEqual([replay._tag, replay.grant.id], ["Replayed", original.grant.id])
      yield* TestClock.setTime(day)
      const fresh = yield* store.insert(newGrant(grantAt(), { idempotency: key }))
      assert.strictEqual(fresh._tag, "Inserted")
      assert.notStrictEqual(fresh.grant.id, original.grant.id)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("republication starts strictly after republishAfterMs; markPublished restarts the wait", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      yield* store.insert(newGrant(grantAt()))
      const taken = yield* store.takeOutbox({ limit: 10, republishAfterMs: 1_000 })
      assert.strictEqual(taken.length, 2)
      yield* TestClock.setTime(1_000)
      assert.deepStrictEqual(yield* store.takeOutbox({ limit: 10, republishAfterMs: 1_000 }), [])
      yield* store.markPublished(taken.map((entry) => entry.job.id))
      yield* TestClock.setTime(2_000)
      assert.deepStrictEqual(yield* store.takeOutbox({ limit: 10, republishAfterMs: 1_000 }), [])
      yield* TestClock.setTime(2_001)
      const again = yield* store.takeOutbox({ limit: 10, republishAfterMs: 1_000 })
      assert.deepStrictEqual(
        again.map((entry) => entry.publications),
        [1, 1]
      )
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("the port cool-down ends exactly cooldownMs after revokedAt", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const inserted = (yield* store.insert(newGrant(grantAt()))).grant
      const revoking = yield* store.update({
        grantId: inserted.id,
        expectedGeneration: 1,
        patch: { state: "revoking" },
        jobs: () => []
      })
      yield* TestClock.setTime(5_000)
      yield* store.update({
        grantId: inserted.id,
        expectedGeneration: revoking.generation,
        patch: { state: "revoked", revokedAt: 5_000 },
        jobs: () => []
      })
      yield* TestClock.setTime(5_999)
      assert.deepStrictEqual(yield* store.heldPorts(inserted.regionId, 1_000), [inserted.endpoint.port])
      yield* TestClock.setTime(6_000)
      assert.deepStrictEqual(yield* store.heldPorts(inserted.regionId, 1_000), [])
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("stats: the oldest outbox age is measured on the store clock, 0 when the outbox is empty", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      assert.deepStrictEqual(yield* store.stats, {
        grantsByState: { pending: 0, active: 0, revoking: 0, revoked: 0 },
        revokeStuck: 0,
        outboxPending: 0,
        oldestOutboxAgeMs: 0
      })
      yield* TestClock.setTime(1_000)
      yield* store.insert(newGrant(grantAt()))
      yield* TestClock.setTime(4_500)
      const stats = yield* store.stats
      assert.strictEqual(stats.oldestOutboxAgeMs, 3_500)
      assert.strictEqual(stats.outboxPending, 2)
      const taken = yield* store.takeOutbox({ limit: 10, republishAfterMs: 0 })
      yield* store.completeJobs(taken.map((entry) => entry.job.id))
      assert.strictEqual((yield* store.stats).oldestOutboxAgeMs, 0)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )
})

describe("MemoryGrantStore specifics", () => {
  it.effect("refuses values that fail their schema, non-pending inserts and duplicate ids, writing nothing", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const badPort = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ endpoint: { host: "h", port: 70_000 } }))))
      assert.deepStrictEqual([badPort._tag, badPort._tag === "StoreError" && badPort.reason], ["StoreError", "Corrupt"])
      const backwards = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ createdAt: 10, expiresAt: 5 }))))
      assert.deepStrictEqual([backwards._tag, backwards._tag === "StoreError" && backwards.reason], ["StoreError", "Corrupt"])
      const active = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ state: "active" }))))
      assert.strictEqual(active._tag, "StoreError")
      const grant = (yield* store.insert(newGrant(makeTestGrant()))).grant
      const duplicate = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ id: grant.id }))))
      assert.strictEqual(duplicate._tag, "StoreError")
      const badJob = yield* Effect.flip(
        store.update({
          grantId: grant.id,
          expectedGeneration: 1,
          patch: { state: "active" },
          jobs: (next) => [{ ...removalJobs(next, 0)[0]!, target: "nowhere" }]
        })
      )
      assert.strictEqual(badJob._tag, "StoreError")
      assert.deepStrictEqual(yield* store.get(grant.id), Option.some(grant))
      assert.strictEqual((yield* store.stats).outboxPending, 2)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("returned grants are frozen: callers cannot change the store's copy", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(makeTestGrant()))).grant
      assert.isTrue(Object.isFrozen(grant) && Object.isFrozen(grant.progress) && Object.isFrozen(grant.endpoint))
      assert.throws(() => {
        ;(grant.progress as { natOpen: boolean }).natOpen = true
      })
      assert.isFalse(Option.getOrThrow(yield* store.get(grant.id)).progress.natOpen)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("the device secret is held sealed, bound to its grant and device", () =>
    Effect.gen(function* () {
      const local = MemoryGrantStore.testKit()
      yield* Effect.gen(function* () {
        const store = yield* GrantStore
        const grant = (yield* store.insert(
          newGrant(makeTestGrant(), { deviceSecret: Option.some(Redacted.make("Sup3rSecretPassw0rdValue")) })
        )).grant
        const snapshot = yield* local.peek
        const sealed = snapshot.sealedSecrets[grant.id]
        assert.isDefined(sealed)
        assert.match(sealed ?? "", /^v1\.ephemeral\./)
        assert.notInclude(yield* local.dump, "Sup3rSecretPassw0rdValue")
      }).pipe(Effect.provide(local.layer))
    })
  )

  it.effect("an interrupted `use` releases the grant's lock", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(makeTestGrant({ createdAt: 0, expiresAt: 10 * minute })))).grant
      const holder = yield* Effect.forkChild(store.withLiveGrant(grant.id, () => Effect.never))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(holder)
      const updated = yield* store.update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "active" }, jobs: () => [] })
      assert.strictEqual(updated.state, "active")
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))
  )

  it.effect("make needs only a SecretBox", () =>
    Effect.gen(function* () {
      const store = yield* MemoryGrantStore.make
      assert.deepStrictEqual(yield* store.list({}), [])
    }).pipe(Effect.provide(SecretBox.layerEphemeral))
  )
})

type RaceOperation =
  | { readonly kind: "use"; readonly grant: number; readonly yields: number }
  | { readonly kind: "update"; readonly grant: number; readonly yields: number }
  | { readonly kind: "claim"; readonly yields: number }
  | { readonly kind: "tick"; readonly yields: number }

const raceOperation: fc.Arbitrary<RaceOperation> = fc.oneof(
  fc.record({ kind: fc.constant("use" as const), grant: fc.nat(3), yields: fc.nat(12) }),
  fc.record({ kind: fc.constant("update" as const), grant: fc.nat(3), yields: fc.nat(4) }),
  fc.record({ kind: fc.constant("claim" as const), yields: fc.nat(4) }),
  fc.record({ kind: fc.constant("tick" as const), yields: fc.nat(4) })
)

/**
 * Runs random concurrent `withLiveGrant` / `update` / `claimExpired` calls and clock ticks
 * (each 10 minutes) over four grants (two expired, two expiring at 10 minutes) and checks
 * that no change lands while `use` holds a grant, that no grant is claimed twice, that no
 * update is lost (read-modify-write of a counter) and that every generation counts exactly
 * the changes that succeeded.
 */
const race = (operations: ReadonlyArray<RaceOperation>) =>
  Effect.gen(function* () {
    const store = yield* GrantStore
    const grants: Array<Grant> = []
    for (let index = 0; index < 4; index++) {
      const expiresAt = index < 2 ? 1 : 10 * minute
      grants.push((yield* store.insert(makeNewGrant(grantAt({ expiresAt, createdAt: 0 })))).grant)
    }
    yield* TestClock.setTime(minute)
    const inUse = new Set<string>()
    const changes = new Map<string, number>()
    const claims = new Map<string, number>()
    const updates = new Map<string, number>()
    const count = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1)
    const pause = (yields: number) => Effect.repeat(Effect.yieldNow, { times: yields })
    const run = (operation: RaceOperation): Effect.Effect<void, StoreError> => {
      switch (operation.kind) {
        case "use": {
          const grant = grants[operation.grant]!
          return Effect.asVoid(
            store.withLiveGrant(grant.id, () =>
              Effect.gen(function* () {
                assert.isFalse(inUse.has(grant.id), "two holders of one grant lock")
                inUse.add(grant.id)
                yield* pause(operation.yields)
                inUse.delete(grant.id)
              })
            )
          )
        }
        case "update": {
          const grant = grants[operation.grant]!
          return Effect.gen(function* () {
            const current = Option.getOrThrow(yield* store.get(grant.id))
            yield* pause(operation.yields)
            const result = yield* Effect.result(
              store.update({
                grantId: grant.id,
                expectedGeneration: current.generation,
                patch: { progress: { provisionAttempts: current.progress.provisionAttempts + 1 } },
                jobs: () => {
                  assert.isFalse(inUse.has(grant.id), "an update landed while `use` held the grant")
                  count(changes, grant.id)
                  count(updates, grant.id)
                  return []
                }
              })
            )
            if (result._tag === "Failure") assert.strictEqual(result.failure._tag, "GenerationConflict")
          })
        }
        case "claim":
          return Effect.asVoid(
            Effect.andThen(
              pause(operation.yields),
              store.claimExpired({
                limit: 10,
                plan: (grant, now) => {
                  assert.isFalse(inUse.has(grant.id), "claimed a grant while `use` held it")
                  count(changes, grant.id)
                  count(claims, grant.id)
                  return plan(grant, now)
                }
              })
            )
          )
        case "tick":
          return Effect.andThen(pause(operation.yields), TestClock.adjust(10 * minute))
      }
    }
    yield* Effect.all(operations.map(run), { concurrency: "unbounded", discard: true })
    for (const grant of grants) {
      const final = Option.getOrThrow(yield* store.get(grant.id))
      assert.isAtMost(claims.get(grant.id) ?? 0, 1)
      assert.strictEqual(final.generation, 1 + (changes.get(grant.id) ?? 0))
      assert.strictEqual(final.progress.provisionAttempts, updates.get(grant.id) ?? 0, "lost update")
    }
  }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral))

describe("MemoryGrantStore under concurrency", () => {
  it.effect("property: locks, claims and compare-and-set stay consistent under random interleavings", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(raceOperation, { minLength: 1, maxLength: 24 }), (operations) =>
          Effect.runPromise(race(operations).pipe(Effect.provide(TestClock.layer())))
        ),
        { numRuns: 200 }
      )
    )
  )
})
