/**
 * The core's `AuditLog` contract suite against `PgAuditLog` on the real server and on PGlite;
 * and the tamper test: one audit row edited in PostgreSQL, `verify` points at it.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import pg from "pg"
import { AuditLog } from "@transient-access/core"
import { AuditLogSuite } from "@transient-access/core/suites"
import { PgAuditLog } from "../src/index.ts"
import { databaseUrl, dropSchema, freshSchema, pgliteStoreLayer, pgStoreLayer, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("audit")

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))
  const layer = PgAuditLog.layer.pipe(Layer.provide(pgStoreLayer(url, schema)))
  AuditLogSuite.suite("PgAuditLog (PostgreSQL)", layer)

  describe("PgAuditLog tamper evidence (PostgreSQL)", () => {
    it.live("an audit row edited in the database is pointed at by verify", () =>
      Effect.gen(function* () {
        const audit = yield* AuditLog.AuditLog
        for (let index = 0; index < 5; index++) {
          yield* audit.record({ at: Date.now(), actor: "system", action: "grant.active", grantId: `ga_tamper${index}`, details: { index } })
        }
        assert.isNull((yield* audit.verify).broken)
        const exported = yield* audit.exportChain
        const victim = exported.find((entry) => entry.event.grantId === "ga_tamper2")!
        yield* Effect.promise(async () => {
          const client = new pg.Client({ connectionString: url })
          await client.connect()
          try {
            await client.query(`update "${schema}".audit_events set actor = 'mallory' where grant_id = 'ga_tamper2'`)
          } finally {
            await client.end()
          }
        })
        const report = yield* audit.verify
        assert.strictEqual(report.broken?.position, victim.position, JSON.stringify(report))
        assert.strictEqual(report.broken?.reason, "its content does not match its hash")
      }).pipe(Effect.provide(layer))
    )
  })
} else {
  describe.skip("PgAuditLog (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}

AuditLogSuite.suite("PgAuditLog (PGlite)", PgAuditLog.layer.pipe(Layer.provide(pgliteStoreLayer())))
