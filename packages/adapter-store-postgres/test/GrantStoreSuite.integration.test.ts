/**
 * The core's `GrantStore` contract suite against a real PostgreSQL server (own schema,
 * database clock, dropped afterwards), with a `pg_dump` of the schema as the raw probe.
 */
import { afterAll, describe, it } from "@effect/vitest"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { GrantStoreSuite } from "@transient-access/core/suites"
import { PgClient, PgGrantStore } from "../src/index.ts"
import { databaseUrl, dropSchema, freshSchema, pgDump, secretBoxLayer, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("suite")

if (url !== undefined && reachable) {
  const storeLayer = PgGrantStore.layer.pipe(
    Layer.provide(PgClient.layer({ url: Redacted.make(url), schema, migrate: true, poolSize: 20 })),
    Layer.provide(secretBoxLayer)
  )
  GrantStoreSuite.suite("PgGrantStore (PostgreSQL)", storeLayer, { probe: { rawDump: pgDump(url, schema) } })
  afterAll(() => dropSchema(url, schema))
} else {
  describe.skip("PgGrantStore contract (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
