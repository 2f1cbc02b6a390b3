/**
 * The connection every port of this package runs on (`PgGrantStore`, `PgAuditLog`,
 * `PgPullStore`): a `pg.Pool` driven through kysely, the schema holding the tables, and the
 * clock the store takes its time from.
 *
 * The `PgClient` service is an opaque token: it names the schema and nothing else. The
 * connection behind it is reachable only by this package's layers, so the ports built on
 * one client share one pool (and, on PGlite, one database) without handing the raw driver
 * to the application.
 *
 * Lifecycle: `layer(options)` / `make(options)` own a `pg.Pool` and close it with their
 * scope; `layerFromPool(pool)` uses a pool the platform already has and never closes it.
 * Pools get `error` listeners, so a dropped connection (server restart) fails the query in
 * flight with `StoreError` `Unavailable` instead of crashing the process. `migrate: true`
 * runs the migrations when the client is built (explicit opt-in; see `Migrations`).
 *
 * `layerConfig` reads `TA_DATABASE_URL` (Redacted), `TA_DATABASE_SCHEMA` (default
 * `transient_access`), `TA_DATABASE_POOL_SIZE` (10), `TA_DATABASE_STATEMENT_TIMEOUT_MS`
 * (10 000), `TA_DATABASE_CLOCK` (`database`) and `TA_DATABASE_MIGRATE` (false).
 *
 * The embedded PGlite client is in the `@transient-access/adapter-store-postgres/pglite`
 * entry (`PgliteClient`), so this entry never loads PGlite.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type pg from "pg"
import * as Connection from "./internal/connection.ts"
import { guardPool, kyselyFromPool, makePool } from "./internal/pool.ts"
import { defaultSchema } from "./Migrations.ts"
import type { MigrationError } from "./Migrations.ts"

/**
 * The type id of a `PgClient` token.
 *
 * @category type ids
 * @since 0.2.0
 */
export const TypeId: typeof Connection.TypeId = Connection.TypeId

/**
 * The type id of a `PgClient` token.
 *
 * @category type ids
 * @since 0.2.0
 */
export type TypeId = typeof TypeId

/**
 * Where the store takes its time from: `database` (default) uses the server's `now()`
 * (transaction time); `effect` passes Effect `Clock` time as a parameter (tests, model
 * runs). Grant times themselves come from the caller.
 *
 * @category models
 * @since 0.1.0
 */
export type ClockSource = "database" | "effect"

/**
 * Options of every client, whatever its pool.
 *
 * @category models
 * @since 0.2.0
 */
export interface ClientOptions {
  /** The schema holding the tables (default `transient_access`). */
  readonly schema?: string
  /** `database` (default): the server's `now()`; `effect`: Effect `Clock` time. */
  readonly clock?: ClockSource
  /** Run the migrations when the client is built (default false). */
  readonly migrate?: boolean
}

/**
 * Options of `make` / `layer`: a connection URL and pool settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionOptions extends ClientOptions {
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 10). */
  readonly poolSize?: number
  /** Server-side statement timeout in ms (default 10 000). */
  readonly statementTimeoutMs?: number
  /** Connection timeout in ms (default 5 000). */
  readonly connectTimeoutMs?: number
}

/**
 * The connection service: an opaque token (type id and schema name). Provide it with
 * `layer`, `layerConfig` or `layerFromPool` (or `PgliteClient.layer`); the ports' layers
 * require it.
 *
 * @category services
 * @since 0.2.0
 */
export class PgClient extends Context.Service<
  PgClient,
  {
    readonly [TypeId]: TypeId
    /** The schema holding the tables. */
    readonly schema: string
  }
>()("@transient-access/adapter-store-postgres/PgClient") {}

const rowLocking = (options: ClientOptions): Connection.Settings => ({
  schema: options.schema,
  clock: options.clock,
  migrate: options.migrate,
  locking: "row"
})

/**
 * A client owning a `pg.Pool` built from `options`; the pool is closed when the scope
 * closes.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: ConnectionOptions): Effect.Effect<PgClient["Service"], MigrationError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => kyselyFromPool(makePool(options))),
    (db) => Effect.promise(() => db.destroy()).pipe(Effect.ignore)
  ).pipe(Effect.flatMap((db) => Connection.fromKysely(db, rowLocking(options))))

/**
 * A client over an existing `pg.Pool` (never closed by the client). It adds the `error`
 * listeners that keep a server restart from crashing the process.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeFromPool = (pool: pg.Pool, options: ClientOptions = {}): Effect.Effect<PgClient["Service"], MigrationError> =>
  Connection.fromKysely(kyselyFromPool(guardPool(pool)), rowLocking(options))

/**
 * The primary layer: owns a `pg.Pool` built from `options` and closes it with the layer.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: ConnectionOptions): Layer.Layer<PgClient, MigrationError> => Layer.effect(PgClient, make(options))

/**
 * A layer over an existing `pg.Pool` (not closed with the layer).
 *
 * @category layers
 * @since 0.2.0
 */
export const layerFromPool = (pool: pg.Pool, options: ClientOptions = {}): Layer.Layer<PgClient, MigrationError> =>
  Layer.effect(PgClient, makeFromPool(pool, options))

/**
 * The primary layer configured from `Config`: `TA_DATABASE_URL` (Redacted),
 * `TA_DATABASE_SCHEMA` (default `transient_access`), `TA_DATABASE_POOL_SIZE` (10),
 * `TA_DATABASE_STATEMENT_TIMEOUT_MS` (10 000), `TA_DATABASE_CLOCK` (`database`),
 * `TA_DATABASE_MIGRATE` (false).
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConfig: Layer.Layer<PgClient, MigrationError | Config.ConfigError> = Layer.unwrap(
  Effect.map(
    Config.all({
      url: Config.Redacted("TA_DATABASE_URL"),
      schema: Config.String("TA_DATABASE_SCHEMA").pipe(Config.withDefault(defaultSchema)),
      poolSize: Config.Int("TA_DATABASE_POOL_SIZE").pipe(Config.withDefault(10)),
      statementTimeoutMs: Config.Int("TA_DATABASE_STATEMENT_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
      clock: Config.Literals(["database", "effect"], "TA_DATABASE_CLOCK").pipe(Config.withDefault("database" as const)),
      migrate: Config.Boolean("TA_DATABASE_MIGRATE").pipe(Config.withDefault(false))
    }),
    layer
  )
)
