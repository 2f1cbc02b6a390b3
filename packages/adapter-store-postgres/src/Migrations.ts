/**
 * The store's database migrations, shipped as code, and `migrate(db, { schema })` to run
 * them with kysely's `Migrator`.
 *
 * Migrations never run on import: call `migrate` (or the `ta-store-migrate` bin /
 * `pnpm --filter @transient-access/adapter-store-postgres migrate`), or pass `migrate: true`
 * to a layer. Everything lives in one caller-chosen schema (default `transient_access`),
 * including kysely's own bookkeeping tables, so several stores can share one database.
 * Concurrent `migrate` calls on the same schema are safe (kysely's migration lock).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { sql } from "kysely"
import type { Kysely } from "kysely"
import { Migrator } from "kysely/migration"
import type { Migration, MigrationProvider } from "kysely/migration"
import { errorMessage } from "./internal/errors.ts"

/**
 * Migrating failed (or the schema name is not a valid identifier).
 *
 * @category errors
 * @since 0.1.0
 */
export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A schema name: a lower-case SQL identifier (letters, digits, `_`; at most 63 characters;
 * not starting with a digit or `pg_`). Used quoted, never interpolated.
 *
 * @category schemas
 * @since 0.1.0
 */
export const SchemaName = Schema.String.check(
  Schema.makeFilter(
    (value: string) =>
      (/^[a-z_][a-z0-9_]{0,62}$/.test(value) && !value.startsWith("pg_")) ||
      "expected a lower-case identifier of at most 63 characters (a-z, 0-9, _), not starting with a digit or pg_"
  )
)

/**
 * The schema used when none is given.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultSchema = "transient_access"

/**
 * Validates a schema name.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validateSchemaName = (schema: string): Effect.Effect<string, MigrationError> =>
  Schema.decodeUnknownEffect(SchemaName)(schema).pipe(
    Effect.mapError((error) => new MigrationError({ message: `invalid schema name: ${error.message}` }))
  )

const initial = (schema: string): Migration => {
  const table = (name: string) => sql.table(`${schema}.${name}`)
  const index = (name: string) => sql.id(name)
  return {
    up: async (db: Kysely<unknown>) => {
      await sql`create table ${table("regions")} (
        region_id text primary key,
        revision bigint not null default 0 check (revision >= 0)
      )`.execute(db)
      await sql`create table ${table("grants")} (
        id text primary key,
        sequence bigint generated always as identity,
        kind text not null check (kind in ('access', 'port-forward')),
        device_id text not null,
        region_id text not null references ${table("regions")} (region_id) on delete restrict,
        access_type text not null check (access_type in ('ssh', 'winbox')),
        permission text not null check (permission in ('full', 'read-only')),
        source text not null,
        actor text not null,
        created_at_ms bigint not null,
        expires_at_ms bigint not null,
        username text not null unique,
        endpoint_host text not null,
        port integer not null check (port between 1 and 65535),
        target_address text not null,
        target_port integer not null check (target_port between 1 and 65535),
        forward_address text,
        forward_port integer check (forward_port between 1 and 65535),
        state text not null check (state in ('pending', 'active', 'revoking', 'revoked')),
        revoke_reason text check (revoke_reason in ('manual', 'expired', 'failed', 'forced')),
        revoke_requested_at_ms bigint,
        revoked_at_ms bigint,
        nat_open boolean not null default false,
        device_ready boolean not null default false,
        nat_gone boolean not null default false,
        device_gone boolean not null default false,
        revoke_attempts integer not null default 0,
        revoke_stuck boolean not null default false,
        provision_attempts integer not null default 0,
        generation bigint not null check (generation >= 1),
        revision bigint not null,
        label text check (char_length(label) <= 200),
        device_secret text,
        device_secret_key_id text,
        check ((device_secret is null) = (device_secret_key_id is null))
      )`.execute(db)
      await sql`create unique index ${index("grants_port_held")} on ${table("grants")} (region_id, port)
        where state in ('pending', 'active', 'revoking')`.execute(db)
      await sql`create index ${index("grants_due")} on ${table("grants")} (expires_at_ms)
        where state in ('pending', 'active')`.execute(db)
      await sql`create index ${index("grants_region")} on ${table("grants")} (region_id) where state <> 'revoked'`.execute(db)
      await sql`create index ${index("grants_device")} on ${table("grants")} (device_id) where state <> 'revoked'`.execute(db)
      await sql`create index ${index("grants_created")} on ${table("grants")} (created_at_ms desc, sequence desc)`.execute(db)
      await sql`create index ${index("grants_revoked_at")} on ${table("grants")} (region_id, revoked_at_ms)
        where state = 'revoked'`.execute(db)
      await sql`create table ${table("outbox")} (
        seq bigserial primary key,
        job_id text not null unique,
        grant_id text not null references ${table("grants")} (id) on delete restrict,
        type text not null,
        target text not null,
        generation bigint not null,
        created_at_ms bigint not null,
        publications integer not null default 0,
        handed_at_ms bigint,
        published_at_ms bigint
      )`.execute(db)
      await sql`create index ${index("outbox_handed")} on ${table("outbox")} (handed_at_ms nulls first, seq)`.execute(db)
      await sql`create table ${table("idempotency_keys")} (
        actor text not null,
        key text not null,
        fingerprint text not null,
        grant_id text not null references ${table("grants")} (id) on delete cascade,
        created_at_ms bigint not null,
        primary key (actor, key)
      )`.execute(db)
      await sql`create index ${index("idempotency_keys_created")} on ${table("idempotency_keys")} (created_at_ms)`.execute(db)
      await sql`create table ${table("device_sequences")} (
        device_id text primary key,
        sequence bigint not null check (sequence >= 1)
      )`.execute(db)
      await sql`create table ${table("audit_events")} (
        id bigserial primary key,
        at_ms bigint not null,
        actor text not null,
        action text not null,
        grant_id text,
        details jsonb not null default '{}'::jsonb
      )`.execute(db)
      await sql`create index ${index("audit_events_grant")} on ${table("audit_events")} (grant_id, id desc)`.execute(db)
    }
  }
}

/**
 * Pull mode's durable state (`PgPullStore`): one row per device (token hash, applied
 * sequence, check-in counter, last check-in) and the pending commands (JSON, no secrets).
 */
const pullStore = (schema: string): Migration => {
  const table = (name: string) => sql.table(`${schema}.${name}`)
  return {
    up: async (db: Kysely<unknown>) => {
      await sql`create table ${table("pull_devices")} (
        device_id text primary key,
        token_hash text check (token_hash ~ '^[0-9a-f]{64}$'),
        applied_sequence bigint not null default 0 check (applied_sequence >= 0),
        check_ins bigint not null default 0 check (check_ins >= 0),
        last_sequence bigint check (last_sequence >= 0),
        last_received_at_ms bigint,
        last_report jsonb,
        check ((last_report is null) = (check_ins = 0))
      )`.execute(db)
      await sql`create table ${table("pull_commands")} (
        device_id text not null references ${table("pull_devices")} (device_id) on delete cascade,
        sequence bigint not null check (sequence >= 1),
        command jsonb not null,
        primary key (device_id, sequence)
      )`.execute(db)
    }
  }
}

/**
 * The highest sequence issued per device, so a check-in reporting a sequence never issued
 * (forged) is refused (existing devices start at the highest sequence they have seen); and
 * whether a command's secret was delivered, so a replayed check-in never gets it again; and
 * the previous token hash a re-bootstrap keeps valid until the new token is first used.
 */
const pullIssued = (schema: string): Migration => {
  const table = (name: string) => sql.table(`${schema}.${name}`)
  return {
    up: async (db: Kysely<unknown>) => {
      await sql`alter table ${table("pull_devices")}
        add column issued_sequence bigint not null default 0 check (issued_sequence >= 0)`.execute(db)
      await sql`alter table ${table("pull_commands")} add column delivered boolean not null default false`.execute(db)
      await sql`alter table ${table("pull_devices")}
        add column previous_token_hash text check (previous_token_hash ~ '^[0-9a-f]{64}$')`.execute(db)
      await sql`update ${table("pull_devices")} d set issued_sequence = greatest(
        d.applied_sequence,
        coalesce(d.last_sequence, 0),
        coalesce((select max(c.sequence) from ${table("pull_commands")} c where c.device_id = d.device_id), 0)
      )`.execute(db)
    }
  }
}

/**
 * The audit log's hash chain: each record keeps the previous record's hash and its own.
 * Records written before this migration stay unchained (counted, not verifiable).
 */
const auditChain = (schema: string): Migration => {
  const table = (name: string) => sql.table(`${schema}.${name}`)
  return {
    up: async (db: Kysely<unknown>) => {
      await sql`alter table ${table("audit_events")}
        add column previous_hash text check (previous_hash ~ '^[0-9a-f]{64}$'),
        add column hash text check (hash ~ '^[0-9a-f]{64}$')`.execute(db)
    }
  }
}

/**
 * The migrations of a schema, by name (applied in name order).
 *
 * @category constructors
 * @since 0.1.0
 */
export const migrations = (schema: string): Record<string, Migration> => ({
  "0001_initial": initial(schema),
  "0002_pull_store": pullStore(schema),
  "0003_pull_issued": pullIssued(schema),
  "0004_audit_chain": auditChain(schema)
})

/**
 * Result of a `migrate` run: the migrations applied now (empty when up to date).
 *
 * @category models
 * @since 0.1.0
 */
export interface MigrateResult {
  readonly applied: ReadonlyArray<string>
}

/**
 * Creates the schema if needed and applies every pending migration, in one transaction per
 * migration run (PostgreSQL has transactional DDL). Safe to call concurrently.
 *
 * @category constructors
 * @since 0.1.0
 */
export const migrate = <DB>(db: Kysely<DB>, options: { readonly schema?: string } = {}): Effect.Effect<MigrateResult, MigrationError> =>
  Effect.gen(function* () {
    const schema = yield* validateSchemaName(options.schema ?? defaultSchema)
    const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(schema)) }
    yield* Effect.tryPromise({
      try: () => sql`create schema if not exists ${sql.id(schema)}`.execute(db),
      catch: (cause) => new MigrationError({ message: `creating schema ${schema}: ${errorMessage(cause)}`, cause })
    }).pipe(Effect.retry({ times: 2 }))
    const migrator = new Migrator({ db, provider, migrationTableSchema: schema })
    const result = yield* Effect.tryPromise({
      try: () => migrator.migrateToLatest(),
      catch: (cause) => new MigrationError({ message: `migrating ${schema}: ${errorMessage(cause)}`, cause })
    })
    if (result.error !== undefined) {
      return yield* new MigrationError({ message: `migrating ${schema}: ${errorMessage(result.error)}`, cause: result.error })
    }
    return { applied: (result.results ?? []).filter((entry) => entry.status === "Success").map((entry) => entry.migrationName) }
  })
