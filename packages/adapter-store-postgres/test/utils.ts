/**
 * Test infrastructure: the shared PostgreSQL server's URL (fail under CI, skip otherwise when
 * absent), a fresh schema per test file, store layers with a two-key `SecretBox` ring, and
 * raw probes that read the database directly (through the connection behind `PgClient`,
 * which only the package's internals and its tests reach).
 */
import { randomBytes } from "node:crypto"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { sql } from "kysely"
import type { Kysely } from "kysely"
import pg from "pg"
import { SecretBox } from "@transient-access/core"
import type { GrantStore } from "@transient-access/core"
import { PgClient, PgGrantStore } from "../src/index.ts"
import { connectionOf, fromKysely } from "../src/internal/connection.ts"
import type { Connection } from "../src/internal/connection.ts"
import type { Database } from "../src/internal/rows.ts"
import { PgliteClient } from "../src/pglite/index.ts"
import type { MigrationError } from "../src/Migrations.ts"

const execFileAsync = promisify(execFile)

/** The shared server's URL, or the reason it cannot be used (tests skip; under CI they fail). */
export const databaseUrl = (): string | undefined => {
  const url = process.env["TA_TEST_DATABASE_URL"]
  if (url === undefined || url === "") {
    if (process.env["CI"] === "true") {
      throw new Error("TA_TEST_DATABASE_URL is not set but CI=true: PostgreSQL integration tests must run in CI")
    }
    return undefined
  }
  return url
}

/** Fails loudly under CI when the server is unreachable; returns false (skip) otherwise. */
export const serverReachable = async (url: string | undefined): Promise<boolean> => {
  if (url === undefined) return false
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
    await client.end()
    return true
  } catch (error) {
    if (process.env["CI"] === "true") throw new Error(`PostgreSQL at TA_TEST_DATABASE_URL is unreachable under CI=true: ${String(error)}`)
    return false
  }
}

/** A schema name unique to this run. */
export const freshSchema = (prefix: string): string => `t_${prefix}_${randomBytes(5).toString("hex")}`

/** Two keys, the second active: secrets sealed with either open. */
export const keyRing = {
  keys: [
    { id: "k1", key: Redacted.make(new Uint8Array(randomBytes(32))) },
    { id: "k2", key: Redacted.make(new Uint8Array(randomBytes(32))) }
  ],
  activeKeyId: "k2"
} as const

/** The SecretBox of the tests (two keys, `k2` active). */
export const secretBoxLayer = SecretBox.layer({ keys: keyRing.keys, activeKeyId: keyRing.activeKeyId }).pipe(Layer.orDie)

/** A store on the shared server in `schema` (migrated on build, Effect clock). */
export const pgStoreLayer = (
  url: string,
  schema: string,
  options: Partial<PgClient.ConnectionOptions> = {}
): Layer.Layer<GrantStore.GrantStore | PgClient.PgClient> =>
  PgGrantStore.layer.pipe(
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), schema, clock: "effect", migrate: true, poolSize: 20, ...options })),
    Layer.provide(secretBoxLayer),
    Layer.orDie
  )

/** An in-memory PGlite store (Effect clock). */
export const pgliteStoreLayer = (schema = "transient_access"): Layer.Layer<GrantStore.GrantStore | PgClient.PgClient> =>
  PgGrantStore.layer.pipe(Layer.provideMerge(PgliteClient.layer({ schema, clock: "effect" })), Layer.provide(secretBoxLayer), Layer.orDie)

/**
 * A client over a kysely instance the test keeps (for probes on the same single connection
 * as the store, PGlite): migrated, process locking, database clock.
 */
export const clientFromKysely = (db: Kysely<Database>, schema: string): Layer.Layer<PgClient.PgClient, MigrationError> =>
  Layer.effect(PgClient.PgClient, fromKysely(db, { schema, migrate: true, locking: "process" }))

/** The raw connection (kysely handle and schema) behind the `PgClient` of a store layer. */
export const rawDatabase: Effect.Effect<Connection, never, PgClient.PgClient> = Effect.gen(function* () {
  return yield* connectionOf(yield* PgClient.PgClient)
})

/** Drops a test schema. */
export const dropSchema = async (url: string, schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`drop schema if exists "${schema}" cascade`)
  } finally {
    await client.end()
  }
}

/** `pg_dump` of one schema (data and definitions) from the server at `url`. */
export const pgDump = (url: string, schema: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const { stdout } = await execFileAsync("/usr/lib/postgresql/15/bin/pg_dump", ["--dbname", url, "--schema", schema, "--no-owner"], {
      maxBuffer: 256 * 1024 * 1024
    })
    return stdout
  })

/** Every row of every store table, as JSON (the raw probe where `pg_dump` cannot reach: PGlite). */
export const jsonDump = (database: Pick<Connection, "db" | "schema">): Effect.Effect<string> =>
  Effect.promise(async () => {
    const tables = ["grants", "outbox", "regions", "device_sequences", "idempotency_keys", "audit_events"]
    const dump: Record<string, unknown> = {}
    for (const name of tables) {
      const result = await sql`select * from ${sql.table(`${database.schema}.${name}`)}`.execute(database.db)
      dump[name] = result.rows
    }
    return JSON.stringify(dump)
  })
