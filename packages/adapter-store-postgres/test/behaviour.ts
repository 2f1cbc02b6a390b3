/**
 * The adapter's own behaviour tests of the `GrantStore` port, run against every backend
 * (real PostgreSQL and PGlite). Each test works in its own random region/device, so tests
 * sharing one store never meet each other's rows. `raw` reads the database directly.
 */
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { sql } from "kysely"
import { TestClock } from "effect/testing"
import { GrantStore, Job } from "@transient-access/core"
import type { Grant, Ids } from "@transient-access/core"
import { PgGrantStore } from "../src/index.ts"
import type { PgClient } from "../src/index.ts"
import type { Connection } from "../src/internal/connection.ts"
import { Fixtures } from "@transient-access/core/testing"
import { newGrant, password } from "./fixtures.ts"
import { rawDatabase } from "./utils.ts"

const hour = 60 * 60 * 1000

const revokePatch = (now: number) => ({ state: "revoking" as const, revokeReason: "manual" as const, revokeRequestedAt: now })

/** Registers the behaviour tests against `storeLayer`. */
export const storeBehaviour = (
  name: string,
  storeLayer: Layer.Layer<GrantStore.GrantStore | PgClient.PgClient>,
  options: {
    /** Row locking: `withLiveGrant`'s callback runs inside the locking transaction (rolled back when it fails). */
    readonly transactionalUse: boolean
  }
): void => {
  layer(storeLayer, { timeout: 60_000 })(name, (it) => {
    const store = GrantStore.GrantStore
    const raw = <A>(f: (database: Connection) => Promise<A>) =>
      Effect.gen(function* () {
        const database = yield* rawDatabase
        return yield* Effect.promise(() => f(database))
      })

    it.effect("insert stores the grant, stamps the revision and writes its jobs", () =>
      Effect.gen(function* () {
        const s = yield* store
        const grant = Fixtures.makeTestGrant({ label: "hello" })
        const result = yield* s.insert(newGrant(grant))
        assert.strictEqual(result._tag, "Inserted")
        assert.deepStrictEqual(result.grant, { ...grant, revision: 1 })
        const read = yield* s.get(grant.id)
        assert.deepStrictEqual(Option.getOrUndefined(read), result.grant)
        const outbox = yield* raw((database) =>
          sql<{
            type: string
          }>`select type from ${sql.table(`${database.schema}.outbox`)} where grant_id = ${grant.id} order by seq`.execute(database.db)
        )
        assert.deepStrictEqual(
          outbox.rows.map((row) => row.type),
          ["nat.open", "user.create"]
        )
      })
    )

    it.effect("a held (region, port) is PortTaken and writes nothing", () =>
      Effect.gen(function* () {
        const s = yield* store
        const first = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(first))
        const second = Fixtures.makeTestGrant({ regionId: first.regionId, endpoint: first.endpoint })
        const error = yield* Effect.flip(s.insert(newGrant(second, { secret: password() })))
        assert.strictEqual(error._tag, "PortTaken")
        assert.isTrue(Option.isNone(yield* s.get(second.id)))
        const snapshot = yield* s.regionSnapshot(first.regionId)
        assert.strictEqual(snapshot.revision, 1)
        assert.deepStrictEqual(
          snapshot.grants.map((grant) => grant.id),
          [first.id]
        )
      })
    )

    it.effect("update is a compare-and-set that bumps generation and revision", () =>
      Effect.gen(function* () {
        const s = yield* store
        const grant = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(grant))
        const active = yield* s.update({
          grantId: grant.id,
          expectedGeneration: 1,
          patch: { state: "active", progress: { natOpen: true, deviceReady: true } },
          jobs: () => []
        })
        assert.strictEqual(active.generation, 2)
        assert.strictEqual(active.revision, 2)
        assert.isTrue(active.progress.natOpen)
        const stale = yield* Effect.flip(
          s.update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "revoking" }, jobs: () => [] })
        )
        assert.deepInclude(stale, { _tag: "GenerationConflict", expected: 1, actual: 2 })
        const backwards = yield* Effect.flip(
          s.update({ grantId: grant.id, expectedGeneration: 2, patch: { state: "pending" }, jobs: () => [] })
        )
        assert.deepInclude(backwards, { _tag: "InvalidTransition", from: "active", to: "pending" })
        const missing = yield* Effect.flip(
          s.update({ grantId: "ga_missing" as Ids.GrantId, expectedGeneration: 1, patch: {}, jobs: () => [] })
        )
        assert.strictEqual(missing._tag, "GrantNotFound")
        assert.deepStrictEqual(Option.getOrUndefined(yield* s.get(grant.id)), active)
      })
    )

    it.effect("the port is held through revoking and free once revoked (after the cool-down)", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(10 * hour)
        const s = yield* store
        const grant = Fixtures.makeTestGrant({ createdAt: 10 * hour, expiresAt: 11 * hour })
        yield* s.insert(newGrant(grant))
        const revoking = yield* s.update({
          grantId: grant.id,
          expectedGeneration: 1,
          patch: revokePatch(10 * hour),
          jobs: (next) => Job.removalJobs(next, 10 * hour)
        })
        const blocked = Fixtures.makeTestGrant({ regionId: grant.regionId, endpoint: grant.endpoint })
        assert.strictEqual((yield* Effect.flip(s.insert(newGrant(blocked))))._tag, "PortTaken")
        assert.deepStrictEqual(yield* s.heldPorts(grant.regionId, 0), [grant.endpoint.port])
        yield* s.update({
          grantId: grant.id,
          expectedGeneration: revoking.generation,
          patch: { state: "revoked", revokedAt: 10 * hour },
          jobs: () => []
        })
        assert.deepStrictEqual(yield* s.heldPorts(grant.regionId, 60_000), [grant.endpoint.port])
        assert.deepStrictEqual(yield* s.heldPorts(grant.regionId, 0), [])
        yield* TestClock.adjust("2 minutes")
        assert.deepStrictEqual(yield* s.heldPorts(grant.regionId, 60_000), [])
        const reused = yield* s.insert(newGrant(blocked))
        assert.strictEqual(reused.grant.revision, 4)
      })
    )

    it.effect("idempotency keys replay the same grant, conflict on another body, expire after 24 h", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(100 * hour)
        const s = yield* store
        const grant = Fixtures.makeTestGrant()
        const key = { actor: grant.actor, key: "request-1", fingerprint: "body-a" }
        const first = yield* s.insert(newGrant(grant, { idempotency: key }))
        const again = yield* s.insert(newGrant(Fixtures.makeTestGrant({ actor: grant.actor }), { idempotency: key }))
        assert.strictEqual(again._tag, "Replayed")
        assert.deepStrictEqual(again.grant, first.grant)
        const other = yield* Effect.flip(
          s.insert(newGrant(Fixtures.makeTestGrant({ actor: grant.actor }), { idempotency: { ...key, fingerprint: "body-b" } }))
        )
        assert.strictEqual(other._tag, "IdempotencyConflict")
        const otherActor = yield* s.insert(
          newGrant(Fixtures.makeTestGrant(), { idempotency: { ...key, actor: "someone-else" as Ids.ActorId } })
        )
        assert.strictEqual(otherActor._tag, "Inserted")
        yield* TestClock.adjust("25 hours")
        const later = Fixtures.makeTestGrant({ actor: grant.actor })
        const fresh = yield* s.insert(newGrant(later, { idempotency: { ...key, fingerprint: "body-b" } }))
        assert.strictEqual(fresh._tag, "Inserted")
        assert.strictEqual(fresh.grant.id, later.id)
        const pruned = yield* PgGrantStore.pruneIdempotencyKeys(100 * hour + 48 * hour)
        assert.isAtLeast(pruned, 1, "the other actor's key of 100 h is past retention at 148 h")
        const replayLater = yield* s.insert(
          newGrant(Fixtures.makeTestGrant({ actor: grant.actor }), { idempotency: { ...key, fingerprint: "body-b" } })
        )
        assert.strictEqual(replayLater._tag, "Replayed", "a key inside its retention is kept")
      })
    )

    it.effect("the device secret reads back sealed, and is wiped on demand and when revoked", () =>
      Effect.gen(function* () {
        const s = yield* store
        const secret = password()
        const grant = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(grant, { secret }))
        const read = yield* s.readDeviceSecret(grant.id)
        assert.strictEqual(Redacted.value(Option.getOrThrow(read)), secret)
        const column = yield* raw((database) =>
          database.db
            .withSchema(database.schema)
            .selectFrom("grants")
            .select(["device_secret", "device_secret_key_id"])
            .where("id", "=", grant.id)
            .executeTakeFirstOrThrow()
        )
        assert.isTrue(column.device_secret?.startsWith("v1.k2."))
        assert.strictEqual(column.device_secret_key_id, "k2")
        assert.notInclude(column.device_secret ?? "", secret)
        yield* s.wipeDeviceSecret(grant.id)
        assert.isTrue(Option.isNone(yield* s.readDeviceSecret(grant.id)))

        const other = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(other, { secret: password() }))
        const revoking = yield* s.update({ grantId: other.id, expectedGeneration: 1, patch: revokePatch(0), jobs: () => [] })
        yield* s.update({
          grantId: other.id,
          expectedGeneration: revoking.generation,
          patch: { state: "revoked", revokedAt: 0 },
          jobs: () => []
        })
        assert.isTrue(Option.isNone(yield* s.readDeviceSecret(other.id)))
      })
    )

    it.effect("a secret moved to another grant's row does not open (AAD binds grant and device)", () =>
      Effect.gen(function* () {
        const s = yield* store
        const a = Fixtures.makeTestGrant()
        const b = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(a, { secret: password() }))
        yield* s.insert(newGrant(b, { secret: password() }))
        yield* raw((database) =>
          sql`update ${sql.table(`${database.schema}.grants`)} set device_secret =
            (select device_secret from ${sql.table(`${database.schema}.grants`)} where id = ${a.id}) where id = ${b.id}`.execute(
            database.db
          )
        )
        const error = yield* Effect.flip(s.readDeviceSecret(b.id))
        assert.strictEqual(error.reason, "Corrupt")
      })
    )

    it.effect("claimExpired claims due grants once, by store time, and applies the plan", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(1_000 * hour)
        const s = yield* store
        const due = Fixtures.makeTestGrant({ createdAt: 999 * hour, expiresAt: 1_000 * hour - 1 })
        const notDue = Fixtures.makeTestGrant({ regionId: due.regionId, createdAt: 999 * hour, expiresAt: 1_001 * hour })
        yield* s.insert(newGrant(due))
        yield* s.insert(newGrant(notDue))
        const plan = (grant: Grant.Grant, now: number) => ({
          patch: { state: "revoking" as const, revokeReason: "expired" as const, revokeRequestedAt: now },
          jobs: Job.removalJobs(grant, now)
        })
        const claimedAll = yield* s.claimExpired({ limit: 10_000, plan })
        const claimed = claimedAll.filter((grant) => grant.regionId === due.regionId)
        assert.deepStrictEqual(
          claimed.map((grant) => grant.id),
          [due.id]
        )
        assert.strictEqual(claimed[0]?.state, "revoking")
        assert.strictEqual(claimed[0]?.revokeRequestedAt, 1_000 * hour)
        const again = yield* s.claimExpired({ limit: 10_000, plan })
        assert.isFalse(again.some((grant) => grant.regionId === due.regionId))
      })
    )

    it.effect("withLiveGrant runs only for live grants; store calls inside join its transaction", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(2_000 * hour)
        const s = yield* store
        const live = Fixtures.makeTestGrant({ createdAt: 2_000 * hour, expiresAt: 2_001 * hour })
        const expired = Fixtures.makeTestGrant({ createdAt: 1_999 * hour, expiresAt: 2_000 * hour })
        yield* s.insert(newGrant(live))
        yield* s.insert(newGrant(expired))
        const result = yield* s.withLiveGrant(live.id, (grant) =>
          Effect.gen(function* () {
            const sequence = yield* s.nextDeviceSequence(grant.deviceId)
            const updated = yield* s.update({
              grantId: grant.id,
              expectedGeneration: grant.generation,
              patch: { progress: { deviceReady: true } },
              jobs: () => []
            })
            return { sequence, generation: updated.generation }
          })
        )
        assert.deepStrictEqual(Option.getOrUndefined(result), { sequence: 1, generation: 2 })
        assert.isTrue(Option.isNone(yield* s.withLiveGrant(expired.id, () => Effect.succeed("never"))))
        assert.isTrue(Option.isNone(yield* s.withLiveGrant("ga_nothing" as Ids.GrantId, () => Effect.succeed("never"))))
        const failed = yield* Effect.flip(
          s.withLiveGrant(live.id, (grant) =>
            s
              .update({ grantId: grant.id, expectedGeneration: grant.generation, patch: { progress: { natOpen: true } }, jobs: () => [] })
              .pipe(Effect.andThen(Effect.fail("device refused" as const)))
          )
        )
        assert.strictEqual(failed, "device refused")
        const after = Option.getOrThrow(yield* s.get(live.id))
        if (options.transactionalUse) {
          assert.strictEqual(after.generation, 2, "a failing use rolls its transaction back")
          assert.isFalse(after.progress.natOpen)
        } else {
          assert.strictEqual(after.generation, 3, "process locking: writes inside use are their own transactions")
        }
      })
    )

    it.effect("the outbox hands jobs out once, republishes unconfirmed ones, and forgets completed ones", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(3_000 * hour)
        const s = yield* store
        const grant = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(grant))
        const mine = (entries: ReadonlyArray<GrantStore.OutboxEntry>) => entries.filter((entry) => entry.job.grantId === grant.id)
        const take = Effect.map(s.takeOutbox({ limit: 10_000, republishAfterMs: 60_000 }), mine)
        const taken = yield* take
        assert.deepStrictEqual(
          taken.map((entry) => [entry.job.type, entry.publications]),
          [
            ["nat.open", 0],
            ["user.create", 0]
          ]
        )
        assert.deepStrictEqual(yield* take, [])
        yield* s.markPublished(taken.map((entry) => entry.job.id))
        yield* TestClock.adjust("61 seconds")
        const again = yield* take
        assert.deepStrictEqual(
          again.map((entry) => [entry.job.id, entry.publications]),
          taken.map((entry) => [entry.job.id, 1])
        )
        const before = yield* s.stats
        assert.isAtLeast(before.outboxPending, 2)
        yield* s.completeJobs(taken.map((entry) => entry.job.id))
        yield* TestClock.adjust("10 minutes")
        assert.deepStrictEqual(yield* take, [])
        assert.strictEqual((yield* s.stats).outboxPending, before.outboxPending - 2)
      })
    )

    it.effect("device sequences strictly increase per device", () =>
      Effect.gen(function* () {
        const s = yield* store
        const device = Fixtures.makeTestGrant().deviceId
        const sequences = yield* Effect.forEach([1, 2, 3, 4, 5], () => s.nextDeviceSequence(device), { concurrency: 5 })
        assert.deepStrictEqual(
          sequences.toSorted((a, b) => a - b),
          [1, 2, 3, 4, 5]
        )
      })
    )

    it.effect("list filters and orders newest first; deviceGrants excludes revoked grants", () =>
      Effect.gen(function* () {
        const s = yield* store
        const base = Fixtures.makeTestGrant()
        const older = { ...base, createdAt: base.createdAt - 1_000 }
        const newer = Fixtures.makeTestGrant({ deviceId: base.deviceId, regionId: base.regionId })
        yield* s.insert(newGrant(older))
        yield* s.insert(newGrant(newer))
        const listed = yield* s.list({ deviceId: base.deviceId })
        assert.deepStrictEqual(
          listed.map((grant) => grant.id),
          [newer.id, older.id]
        )
        assert.deepStrictEqual(
          (yield* s.list({ deviceId: base.deviceId, limit: 1 })).map((grant) => grant.id),
          [newer.id]
        )
        assert.deepStrictEqual(yield* s.list({ deviceId: base.deviceId, states: ["active"] }), [])
        const revoking = yield* s.update({ grantId: older.id, expectedGeneration: 1, patch: revokePatch(0), jobs: () => [] })
        yield* s.update({
          grantId: older.id,
          expectedGeneration: revoking.generation,
          patch: { state: "revoked", revokedAt: 0 },
          jobs: () => []
        })
        assert.deepStrictEqual(
          (yield* s.deviceGrants(base.deviceId)).map((grant) => grant.id),
          [newer.id]
        )
        assert.deepStrictEqual(
          (yield* s.list({ regionId: base.regionId, states: ["revoked"] })).map((grant) => grant.id),
          [older.id]
        )
      })
    )

    it.effect("a row that does not decode is StoreError Corrupt", () =>
      Effect.gen(function* () {
        const s = yield* store
        const grant = Fixtures.makeTestGrant()
        yield* s.insert(newGrant(grant))
        yield* raw((database) =>
          sql`update ${sql.table(`${database.schema}.grants`)} set device_id = 'not a valid id!' where id = ${grant.id}`.execute(
            database.db
          )
        )
        const error = yield* Effect.flip(s.get(grant.id))
        assert.strictEqual(error.reason, "Corrupt")
      })
    )
  })
}
