/**
 * The core's `AuditLog` contract suite against `PgAuditLog` on the real server and on PGlite.
 */
import { afterAll, describe, it } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { AuditLogSuite } from "@transient-access/core/suites"
import { PgAuditLog } from "../src/index.ts"
import { databaseUrl, dropSchema, freshSchema, pgliteStoreLayer, pgStoreLayer, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("audit")

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))
  AuditLogSuite.suite("PgAuditLog (PostgreSQL)", PgAuditLog.layer.pipe(Layer.provide(pgStoreLayer(url, schema))))
} else {
  describe.skip("PgAuditLog (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}

AuditLogSuite.suite("PgAuditLog (PGlite)", PgAuditLog.layer.pipe(Layer.provide(pgliteStoreLayer())))
