/**
 * A `PgClient` on PGlite (PostgreSQL compiled to WebAssembly, in process) through
 * `kysely-pglite-dialect`: the same migrations and queries as on a server, with no server.
 * The demo uses it.
 *
 * `layer({ dataDir })` opens PGlite in memory (no `dataDir`) or in a directory, runs the
 * migrations (the database belongs to the layer), and closes it with the layer.
 *
 * Limits: one process only (PGlite is single-user; two processes must never open the same
 * `dataDir`), one connection (queries and transactions are serialised; `withLiveGrant` holds
 * an in-process per-grant lock instead of a row lock, which `claimExpired` skips and
 * `update` waits for; throughput is that of one session), no server-side statement timeout,
 * and no crash-safety guarantee comparable to a PostgreSQL server's WAL with `fsync`.
 *
 * Needs the optional peer dependencies `@electric-sql/pglite` and `kysely-pglite-dialect`.
 *
 * @since 0.2.0
 */
import { PGlite } from "@electric-sql/pglite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Kysely } from "kysely"
import { PGliteDialect } from "kysely-pglite-dialect"
import { fromKysely } from "../internal/connection.ts"
import type { Database } from "../internal/rows.ts"
import { MigrationError } from "../Migrations.ts"
import { PgClient } from "../PgClient.ts"
import type { ClockSource } from "../PgClient.ts"

/**
 * Options of the embedded client.
 *
 * @category models
 * @since 0.1.0
 */
export interface PgliteOptions {
  /** Where PGlite keeps its files; in memory when absent. */
  readonly dataDir?: string
  /** The schema holding the tables (default `transient_access`). */
  readonly schema?: string
  /** `database` (default): PGlite's `now()`; `effect`: Effect `Clock` time. */
  readonly clock?: ClockSource
}

/**
 * Opens PGlite (in memory or in `dataDir`), migrates it, and closes it when the scope
 * closes.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: PgliteOptions = {}): Effect.Effect<PgClient["Service"], MigrationError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pglite = options.dataDir === undefined ? new PGlite() : new PGlite(options.dataDir)
        await pglite.waitReady
        return new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
      },
      catch: (cause) => new MigrationError({ message: `opening PGlite: ${String(cause)}`, cause })
    }),
    (db) => Effect.promise(() => db.destroy()).pipe(Effect.ignore)
  ).pipe(Effect.flatMap((db) => fromKysely(db, { schema: options.schema, clock: options.clock, migrate: true, locking: "process" })))

/**
 * The embedded client layer: PGlite, migrated on build, closed with the layer.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: PgliteOptions = {}): Layer.Layer<PgClient, MigrationError> => Layer.effect(PgClient, make(options))
