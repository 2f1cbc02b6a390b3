/**
 * Property (fast-check): random rounds of concurrent store calls on one region with few
 * ports — inserts on random ports, revokes, completions, stale compare-and-sets — keep the
 * store's atomicity under real concurrency:
 *
 * - at most one port-holding grant per port, and every refused insert was a port clash;
 * - the region's revision equals the number of acknowledged writes (a failed call leaves no
 *   revision behind) and the grants' revisions are distinct;
 * - each grant's outbox holds exactly the jobs of its acknowledged writes.
 *
 * A failure prints fast-check's seed and path.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as fc from "fast-check"
import { sql } from "kysely"
import { GrantStore, Job } from "@transient-access/core"
import type { Grant, Ids } from "@transient-access/core"
import type { PgClient } from "../src/index.ts"
import { Fixtures } from "@transient-access/core/testing"
import { newGrant } from "./fixtures.ts"
import { databaseUrl, dropSchema, freshSchema, pgliteStoreLayer, pgStoreLayer, rawDatabase, serverReachable } from "./utils.ts"

type Operation =
  | { readonly _tag: "insert"; readonly port: number }
  | { readonly _tag: "revoke"; readonly pick: number }
  | { readonly _tag: "finish"; readonly pick: number }
  | { readonly _tag: "stale"; readonly pick: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ _tag: fc.constant("insert" as const), port: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ _tag: fc.constant("revoke" as const), pick: fc.nat() }),
  fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat() }),
  fc.record({ _tag: fc.constant("stale" as const), pick: fc.nat() })
)

const rounds = fc.array(fc.array(operation, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 })

const property = (runtime: ManagedRuntime.ManagedRuntime<GrantStore.GrantStore | PgClient.PgClient, never>) =>
  fc.asyncProperty(rounds, async (plan) => {
    const regionId = `region-${Fixtures.testSuffix()}` as Ids.RegionId
    const known: Array<Ids.GrantId> = []
    let acknowledgedWrites = 0
    const expectedJobs = new Map<string, number>()
    const run = <A, E>(effect: Effect.Effect<A, E, GrantStore.GrantStore>) => runtime.runPromiseExit(effect)
    for (const round of plan) {
      await Promise.all(
        round.map(async (step) => {
          if (step._tag === "insert") {
            const grant = Fixtures.makeTestGrant({ regionId, endpoint: { host: "h", port: step.port } })
            const exit = await run(GrantStore.GrantStore.use((store) => store.insert(newGrant(grant))))
            if (exit._tag === "Success") {
              acknowledgedWrites += 1
              known.push(grant.id)
              expectedJobs.set(grant.id, 2)
            } else {
              assert.include(JSON.stringify(exit.cause), "PortTaken", "an insert failed for another reason than a port clash")
            }
            return
          }
          const grantId = known[step.pick % Math.max(1, known.length)]
          if (grantId === undefined) return
          const exit = await run(
            GrantStore.GrantStore.use((store) =>
              Effect.gen(function* () {
                const current = (yield* store.get(grantId)).pipe((option) => (option._tag === "Some" ? option.value : undefined))
                if (current === undefined) return "missing" as const
                const patch: Grant.GrantPatch =
                  step._tag === "revoke"
                    ? { state: "revoking", revokeReason: "manual" }
                    : step._tag === "finish"
                      ? { state: current.state === "revoking" ? "revoked" : "revoking" }
                      : { progress: { natOpen: true } }
                const expected = step._tag === "stale" ? current.generation - 1 : current.generation
                yield* store.update({
                  grantId,
                  expectedGeneration: expected,
                  patch,
                  jobs: (next) => (patch.state === "revoking" ? Job.removalJobs(next, next.createdAt) : [])
                })
                return patch.state === "revoking" ? ("with jobs" as const) : ("no jobs" as const)
              })
            )
          )
          if (exit._tag === "Success" && exit.value !== "missing") {
            acknowledgedWrites += 1
            if (exit.value === "with jobs") expectedJobs.set(grantId, (expectedJobs.get(grantId) ?? 0) + 2)
          } else if (exit._tag === "Failure") {
            const text = JSON.stringify(exit.cause)
            assert.isTrue(/GenerationConflict|InvalidTransition/.test(text), `unexpected failure ${text}`)
          }
        })
      )
    }
    const database = await runtime.runPromise(rawDatabase)
    const grants = await sql<{ id: string; port: number; state: string; revision: string }>`select id, port, state, revision
      from ${sql.table(`${database.schema}.grants`)} where region_id = ${regionId}`.execute(database.db)
    const holding = grants.rows.filter((row) => row.state !== "revoked").map((row) => row.port)
    assert.strictEqual(new Set(holding).size, holding.length, "two port-holding grants share a port")
    const snapshot = await runtime.runPromise(GrantStore.GrantStore.use((store) => store.regionSnapshot(regionId)))
    assert.strictEqual(snapshot.revision, acknowledgedWrites, "region revision differs from the acknowledged writes")
    const revisions = grants.rows.map((row) => row.revision)
    assert.strictEqual(new Set(revisions).size, revisions.length, "two grants carry the same revision")
    const outbox = await sql<{ grant_id: string; count: string }>`select grant_id, count(*) as count
      from ${sql.table(`${database.schema}.outbox`)} where grant_id in (select id from ${sql.table(`${database.schema}.grants`)}
      where region_id = ${regionId}) group by grant_id`.execute(database.db)
    const actual = new Map(outbox.rows.map((row) => [row.grant_id, Number(row.count)]))
    assert.deepStrictEqual(Object.fromEntries(actual), Object.fromEntries(expectedJobs))
  })

const check = async (storeLayer: Layer.Layer<GrantStore.GrantStore | PgClient.PgClient>, numRuns: number) => {
  const runtime = ManagedRuntime.make(storeLayer)
  try {
    await fc.assert(property(runtime), { numRuns })
  } finally {
    await runtime.dispose()
  }
}

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("property")

describe("store atomicity under concurrent calls (fast-check)", () => {
  if (url !== undefined && reachable) {
    afterAll(() => dropSchema(url, schema))
    it("PostgreSQL", () => check(pgStoreLayer(url, schema, { clock: "database" }), 40), 300_000)
  } else {
    it.skip("PostgreSQL: skipped, TA_TEST_DATABASE_URL is not set or the server is unreachable", () => {})
  }
  it("PGlite", () => check(pgliteStoreLayer(), 20), 300_000)
})
