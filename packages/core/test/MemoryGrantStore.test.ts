import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import type { Grant } from "../src/Grant.ts"
import { GrantStore } from "../src/GrantStore.ts"
import { removalJobs } from "../src/Job.ts"
import * as MemoryGrantStore from "../src/MemoryGrantStore.ts"
import * as SecretBox from "../src/SecretBox.ts"
import { makeNewGrant, makeTestGrant } from "../src/testing/fixtures.ts"
import { suite } from "../src/testing/GrantStoreSuite.ts"

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
    Effect.gen(function*() {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(grantAt({ expiresAt: 10 * minute })))).grant
      yield* TestClock.setTime(10 * minute - 1)
      assert.deepStrictEqual(yield* store.claimExpired({ limit: 10, plan }), [])
      assert.isTrue(Option.isSome(yield* store.withLiveGrant(grant.id, Effect.succeed)))
      yield* TestClock.adjust(1)
      assert.isTrue(Option.isNone(yield* store.withLiveGrant(grant.id, Effect.succeed)))
      const claimed = yield* store.claimExpired({ limit: 10, plan })
      assert.deepStrictEqual(claimed.map((claimedGrant) => [claimedGrant.id, claimedGrant.revokeRequestedAt]), [[grant.id, 10 * minute]])
      assert.deepStrictEqual(yield* store.claimExpired({ limit: 10, plan }), [])
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("claimExpired takes the oldest expiries first, up to the limit", () =>
    Effect.gen(function*() {
      const store = yield* GrantStore
      const late = (yield* store.insert(newGrant(grantAt({ expiresAt: 3 * minute })))).grant
      const early = (yield* store.insert(newGrant(grantAt({ expiresAt: 1 * minute })))).grant
      const middle = (yield* store.insert(newGrant(grantAt({ expiresAt: 2 * minute })))).grant
      yield* TestClock.setTime(5 * minute)
      assert.deepStrictEqual((yield* store.claimExpired({ limit: 2, plan })).map((grant) => grant.id), [early.id, middle.id])
      assert.deepStrictEqual((yield* store.claimExpired({ limit: 2, plan })).map((grant) => grant.id), [late.id])
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("idempotency keys are kept for 24 hours, then forgotten", () =>
    Effect.gen(function*() {
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
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("republication starts strictly after republishAfterMs; markPublished restarts the wait", () =>
    Effect.gen(function*() {
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
      assert.deepStrictEqual(again.map((entry) => entry.publications), [1, 1])
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("the port cool-down ends exactly cooldownMs after revokedAt", () =>
    Effect.gen(function*() {
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
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("stats: the oldest outbox age is measured on the store clock, 0 when the outbox is empty", () =>
    Effect.gen(function*() {
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
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))
})

describe("MemoryGrantStore specifics", () => {
  it.effect("refuses values that fail their schema, non-pending inserts and duplicate ids, writing nothing", () =>
    Effect.gen(function*() {
      const store = yield* GrantStore
      const badPort = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ endpoint: { host: "h", port: 70_000 } }))))
      assert.deepStrictEqual([badPort._tag, badPort._tag === "StoreError" && badPort.reason], ["StoreError", "Corrupt"])
      const active = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ state: "active" }))))
      assert.strictEqual(active._tag, "StoreError")
      const grant = (yield* store.insert(newGrant(makeTestGrant()))).grant
      const duplicate = yield* Effect.flip(store.insert(newGrant(makeTestGrant({ id: grant.id }))))
      assert.strictEqual(duplicate._tag, "StoreError")
      const badJob = yield* Effect.flip(store.update({
        grantId: grant.id,
        expectedGeneration: 1,
        patch: { state: "active" },
        jobs: (next) => [{ ...removalJobs(next, 0)[0]!, target: "nowhere" }]
      }))
      assert.strictEqual(badJob._tag, "StoreError")
      assert.deepStrictEqual(yield* store.get(grant.id), Option.some(grant))
      assert.strictEqual((yield* store.stats).outboxPending, 2)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("returned grants are frozen: callers cannot change the store's copy", () =>
    Effect.gen(function*() {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(makeTestGrant()))).grant
      assert.isTrue(Object.isFrozen(grant) && Object.isFrozen(grant.progress) && Object.isFrozen(grant.endpoint))
      assert.throws(() => {
        ;(grant.progress as { natOpen: boolean }).natOpen = true
      })
      assert.isFalse(Option.getOrThrow(yield* store.get(grant.id)).progress.natOpen)
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("the device secret is held sealed, bound to its grant and device", () =>
    Effect.gen(function*() {
      const local = MemoryGrantStore.testKit()
      yield* Effect.gen(function*() {
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
    }))

  it.effect("an interrupted `use` releases the grant's lock", () =>
    Effect.gen(function*() {
      const store = yield* GrantStore
      const grant = (yield* store.insert(newGrant(makeTestGrant({ createdAt: 0, expiresAt: 10 * minute })))).grant
      const holder = yield* Effect.forkChild(store.withLiveGrant(grant.id, () => Effect.never))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(holder)
      const updated = yield* store.update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "active" }, jobs: () => [] })
      assert.strictEqual(updated.state, "active")
    }).pipe(Effect.provide(MemoryGrantStore.layerEphemeral)))

  it.effect("make needs only a SecretBox", () =>
    Effect.gen(function*() {
      const store = yield* MemoryGrantStore.make
      assert.deepStrictEqual(yield* store.list({}), [])
    }).pipe(Effect.provide(SecretBox.layerEphemeral)))
})
