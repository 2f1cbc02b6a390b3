/**
 * The core's model-based test of the sagas (fast-check commands: grants, revokes, expiry,
 * relays, duplicate/dropped deliveries, crashes, pauses, outages, sweeps, reconciler runs)
 * once more with this store in place of the in-memory one: on PostgreSQL (a fresh schema
 * per run, dropped afterwards) and on PGlite. Fewer runs than the in-memory model test; a
 * failure prints fast-check's seed and path (`TA_MODEL_SEED` / `TA_MODEL_PATH` replay it).
 */
import { afterAll, describe, it } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { ModelTest } from "@transient-access/core/suites"
import { PgliteStore } from "../src/pglite/index.ts"
import { databaseUrl, dropSchema, freshSchema, pgStoreLayer, secretBoxLayer, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const numRuns = Number(process.env["TA_STORE_MODEL_RUNS"] ?? 30)
const replay = {
  ...(process.env["TA_MODEL_SEED"] !== undefined ? { seed: Number(process.env["TA_MODEL_SEED"]) } : {}),
  ...(process.env["TA_MODEL_PATH"] !== undefined ? { path: process.env["TA_MODEL_PATH"] } : {})
}

if (url !== undefined && reachable) {
  const schemas: Array<string> = []
  afterAll(async () => {
    for (const schema of schemas) await dropSchema(url, schema)
  })

  describe("core model test with PgGrantStore (PostgreSQL)", () => {
    it(
      "keeps every safety invariant and drains to no leftovers",
      () =>
        ModelTest.run({
          numRuns,
          maxCommands: 40,
          ...replay,
          store: () => {
            const schema = freshSchema("model")
            schemas.push(schema)
            return pgStoreLayer(url, schema, { clock: "effect", poolSize: 8 })
          },
          afterRun: async () => {
            const schema = schemas.shift()
            if (schema !== undefined) await dropSchema(url, schema)
          }
        }),
      600_000
    )
  })
} else {
  describe.skip("core model test with PgGrantStore (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}

describe("core model test with PgliteStore (embedded)", () => {
  it(
    "keeps every safety invariant and drains to no leftovers",
    () =>
      ModelTest.run({
        numRuns: Math.max(1, Math.floor(numRuns / 6)),
        maxCommands: 40,
        ...replay,
        store: () => PgliteStore.layer({ clock: "effect" }).pipe(Layer.provide(secretBoxLayer))
      }),
    600_000
  )
})
