/**
 * Migrations: applied once, idempotent, safe to run concurrently, into a caller-chosen
 * schema; invalid schema names are refused before any SQL runs.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { sql } from "kysely"
import { Migrations } from "../src/index.ts"
import { kyselyFromPool, makePool } from "../src/internal/pool.ts"
import { databaseUrl, dropSchema, freshSchema, serverReachable } from "./utils.ts"

describe("schema names", () => {
  it.effect("only plain lower-case identifiers are accepted", () =>
    Effect.gen(function* () {
      for (const good of ["transient_access", "t1", "_x", "a".repeat(63)]) {
        assert.strictEqual(yield* Migrations.validateSchemaName(good), good)
      }
      for (const bad of ["", "Public", "1abc", "pg_catalog", "a-b", "a;drop schema x", 'x"y', "a".repeat(64), "é"]) {
        const error = yield* Effect.flip(Migrations.validateSchemaName(bad))
        assert.strictEqual(error._tag, "MigrationError")
      }
    })
  )
})

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("migrations")

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))

  describe("migrate (PostgreSQL)", () => {
    it.live("applies every migration once, concurrently and repeatedly, into the chosen schema", () =>
      Effect.gen(function* () {
        const db = kyselyFromPool(makePool({ url: Redacted.make(url) }))
        yield* Effect.addFinalizer(() => Effect.promise(() => db.destroy()))
        const results = yield* Effect.all(
          [1, 2, 3].map(() => Migrations.migrate(db, { schema })),
          { concurrency: 3 }
        )
        const applied = results.flatMap((result) => result.applied)
        assert.deepStrictEqual(applied, Object.keys(Migrations.migrations(schema)))
        assert.deepStrictEqual((yield* Migrations.migrate(db, { schema })).applied, [])
        const tables = yield* Effect.promise(() =>
          sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = ${schema} order by 1`.execute(
            db
          )
        )
        assert.deepStrictEqual(
          tables.rows.map((row) => row.table_name),
          [
            "audit_events",
            "device_sequences",
            "grants",
            "idempotency_keys",
            "kysely_migration",
            "kysely_migration_lock",
            "outbox",
            "pull_commands",
            "pull_devices",
            "regions"
          ]
        )
        const index = yield* Effect.promise(() =>
          sql<{
            indexdef: string
          }>`select indexdef from pg_indexes where schemaname = ${schema} and indexname = 'grants_port_held'`.execute(db)
        )
        assert.match(index.rows[0]?.indexdef ?? "", /UNIQUE INDEX .* \(region_id, port\) WHERE .*pending.*active.*revoking/)
      })
    )
  })
} else {
  describe.skip("migrate (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
