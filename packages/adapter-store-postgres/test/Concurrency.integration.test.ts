/**
 * Concurrency proofs on the real PostgreSQL server (own schema each):
 *
 * - 50 parallel grant requests on a region with 20 free ports, through the core's `Grants`
 *   saga running as two independent instances (two port allocators, one database): exactly
 *   20 succeed with distinct ports, 30 get `PortsExhausted`, nothing else is written;
 *   the same at the store level (50 parallel inserters, each trying every port).
 * - Two claimers (two store instances, two pools) racing over 1,000 expired grants: each
 *   grant claimed exactly once, one generation bump and one set of removal jobs each.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { sql } from "kysely"
import { AuditLog, Grants, GrantStore, Job, Policy, PortAllocator, PortsExhausted, Topology } from "@transient-access/core"
import type { Grant, Ids } from "@transient-access/core"
import type { Connection } from "../src/internal/connection.ts"
import { Fixtures } from "@transient-access/core/testing"
import { newGrant } from "./fixtures.ts"
import { databaseUrl, dropSchema, freshSchema, pgStoreLayer, rawDatabase, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("concurrency")

const countRows = (database: Connection, table: string, where: ReturnType<typeof sql>) =>
  Effect.promise(() =>
    sql<{ count: string }>`select count(*) as count from ${sql.table(`${database.schema}.${table}`)} where ${where}`.execute(database.db)
  ).pipe(Effect.map((result) => Number(result.rows[0]?.count)))

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))
  const storeLayer = pgStoreLayer(url, schema, { clock: "database", poolSize: 30 })

  describe("PgGrantStore concurrency (PostgreSQL)", () => {
    it.live(
      "50 parallel grants through two Grants instances on 20 free ports: 20 distinct ports, 30 PortsExhausted",
      () =>
        Effect.gen(function* () {
          const region: Topology.Region = {
            id: `region-${Fixtures.testSuffix()}` as Ids.RegionId,
            endpointHost: "access.example.net",
            portRange: { from: 41_000, to: 41_019 },
            tunnelAddress: "10.8.0.1"
          }
          const device: Topology.Device = {
            id: `router-${Fixtures.testSuffix()}` as Ids.DeviceId,
            regionId: region.id,
            tunnelAddress: "10.8.0.2",
            ports: { ssh: 22, winbox: 8291, api: 8728 },
            mode: "push"
          }
          const instance = Grants.make.pipe(Effect.provide(Layer.fresh(PortAllocator.layer)))
          const [first, second] = yield* Effect.all([instance, instance]).pipe(
            Effect.provide(
              Layer.mergeAll(Topology.layerStatic({ devices: [device], regions: [region] }), Policy.layerAllowAll, AuditLog.layerMemory())
            )
          )
          const actor: Policy.Actor = { id: "alice" as Ids.ActorId, roles: ["admin"] }
          const request = { deviceId: device.id, accessType: "ssh", permission: "read-only", source: "198.51.100.7", ttlSeconds: 3600 }
          const results = yield* Effect.forEach(
            Array.from({ length: 50 }, (_, index) => (index % 2 === 0 ? first : second)),
            (grants) => Effect.result(grants!.grant(actor, request)),
            { concurrency: "unbounded" }
          )
          const successes = results.flatMap((result) => (result._tag === "Success" ? [result.success.grant] : []))
          const failures = results.flatMap((result) => (result._tag === "Failure" ? [result.failure] : []))
          assert.strictEqual(successes.length, 20)
          assert.strictEqual(new Set(successes.map((grant) => grant.endpoint.port)).size, 20)
          assert.strictEqual(failures.length, 30)
          for (const failure of failures) assert.instanceOf(failure, PortsExhausted)
          const database = yield* rawDatabase
          assert.strictEqual(yield* countRows(database, "grants", sql`region_id = ${region.id}`), 20)
          assert.strictEqual(
            yield* countRows(
              database,
              "outbox",
              sql`grant_id in (select id from ${sql.table(`${schema}.grants`)} where region_id = ${region.id})`
            ),
            40
          )
          const snapshot = yield* (yield* GrantStore.GrantStore).regionSnapshot(region.id)
          assert.strictEqual(snapshot.revision, 20, "one revision per committed grant, none for refused ones")
        }).pipe(Effect.provide(storeLayer)),
      60_000
    )

    it.live(
      "50 parallel store inserts on 20 ports: exactly 20 distinct ports, 30 find every port taken",
      () =>
        Effect.gen(function* () {
          const store = yield* GrantStore.GrantStore
          const regionId = `region-${Fixtures.testSuffix()}` as Ids.RegionId
          const ports = Array.from({ length: 20 }, (_, index) => 42_000 + index)
          const attempt = (index: number) =>
            Effect.gen(function* () {
              const order = ports.map((_, offset) => ports[(index + offset) % ports.length]!)
              for (const port of order) {
                const result = yield* Effect.result(
                  store.insert(newGrant(Fixtures.makeTestGrant({ regionId, endpoint: { host: "h", port } })))
                )
                if (result._tag === "Success") return Option.some(result.success.grant)
                if (result.failure._tag !== "PortTaken") return yield* result.failure
              }
              return Option.none<Grant.Grant>()
            })
          const outcomes = yield* Effect.forEach(
            Array.from({ length: 50 }, (_, index) => index),
            attempt,
            { concurrency: "unbounded" }
          )
          const granted = outcomes.flatMap(Option.toArray)
          assert.strictEqual(granted.length, 20)
          assert.strictEqual(new Set(granted.map((grant) => grant.endpoint.port)).size, 20)
          assert.strictEqual(outcomes.filter(Option.isNone).length, 30)
          const database = yield* rawDatabase
          assert.strictEqual(yield* countRows(database, "grants", sql`region_id = ${regionId}`), 20)
          assert.deepStrictEqual((yield* store.regionSnapshot(regionId)).revision, 20)
        }).pipe(Effect.provide(storeLayer)),
      60_000
    )

    it.live(
      "two claimers over 1,000 expired grants claim each exactly once",
      () =>
        Effect.gen(function* () {
          const regions = Array.from({ length: 5 }, () => `region-${Fixtures.testSuffix()}` as Ids.RegionId)
          const past = Date.now() - 60_000
          const expired = Array.from({ length: 1_000 }, (_, index) =>
            Fixtures.makeTestGrant({
              regionId: regions[index % regions.length]!,
              endpoint: { host: "h", port: 1_000 + Math.floor(index / regions.length) },
              createdAt: past - 1_000,
              expiresAt: past
            })
          )
          const seeder = yield* GrantStore.GrantStore
          yield* Effect.forEach(expired, (grant) => seeder.insert(newGrant(grant)), { concurrency: 20, discard: true })
          const ours = new Set<string>(expired.map((grant) => grant.id))
          const plan = (grant: Grant.Grant, now: number) => ({
            patch: { state: "revoking" as const, revokeReason: "expired" as const, revokeRequestedAt: now },
            jobs: Job.removalJobs(grant, now)
          })
          const claimer = (store: GrantStore.GrantStore["Service"]) =>
            Effect.gen(function* () {
              const claimed: Array<Grant.Grant> = []
              for (;;) {
                const batch = yield* store.claimExpired({ limit: 50, plan })
                if (batch.length === 0) return claimed
                claimed.push(...batch)
              }
            })
          // Two independent instances: separate store layers, separate pools.
          const storeOf = Effect.map(Layer.build(Layer.fresh(storeLayer)), (context) => Context.get(context, GrantStore.GrantStore))
          const [left, right] = yield* Effect.all([storeOf, storeOf])
          const [a, b] = yield* Effect.all([claimer(left), claimer(right)], { concurrency: 2 })
          const claimedA = a.filter((grant) => ours.has(grant.id))
          const claimedB = b.filter((grant) => ours.has(grant.id))
          const all = [...claimedA, ...claimedB].map((grant) => grant.id)
          assert.strictEqual(all.length, 1_000)
          assert.strictEqual(new Set(all).size, 1_000, "a grant was claimed twice")
          assert.isAbove(claimedA.length, 0, "the first claimer got no work")
          assert.isAbove(claimedB.length, 0, "the second claimer got no work")
          const database = yield* rawDatabase
          const grantsTable = sql.table(`${schema}.grants`)
          const regionList = sql.join(regions)
          assert.strictEqual(
            yield* countRows(database, "grants", sql`region_id in (${regionList}) and state = 'revoking' and generation = 2`),
            1_000
          )
          assert.strictEqual(
            yield* countRows(
              database,
              "outbox",
              sql`type in ('nat.close', 'user.remove') and grant_id in (select id from ${grantsTable} where region_id in (${regionList}))`
            ),
            2_000
          )
          yield* Effect.logInfo(`claimer split: ${claimedA.length} / ${claimedB.length}`)
        }).pipe(Effect.provide(storeLayer)),
      120_000
    )
  })
} else {
  describe.skip("PgGrantStore concurrency (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
