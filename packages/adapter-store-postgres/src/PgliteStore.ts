/**
 * The embedded default: the same migrations and queries on PGlite (PostgreSQL compiled to
 * WebAssembly, in process) through `kysely-pglite-dialect`. The demo uses it so that it
 * needs no server.
 *
 * `layerPglite({ dataDir })` opens PGlite in memory (no `dataDir`) or in a directory, runs
 * the migrations (the database belongs to the layer), and closes it with the layer.
 *
 * Limits: one process only (PGlite is single-user; two processes must never open the same
 * `dataDir`), one connection (queries and transactions are serialised; `withLiveGrant` holds
 * an in-process per-grant lock instead of a row lock, `locking: "process"`, which
 * `claimExpired` skips and `update` waits for; throughput is that of one session), no
 * server-side statement timeout, and no crash-safety guarantee comparable to a PostgreSQL
 * server's WAL with `fsync`.
 *
 * @since 0.1.0
 */
import { PGlite } from "@electric-sql/pglite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Kysely } from "kysely"
import { PGliteDialect } from "kysely-pglite-dialect"
import type { GrantStore, SecretBox } from "@transient-access/core"
import { MigrationError } from "./Migrations.ts"
import { layerFromKysely } from "./PgGrantStore.ts"
import type { PgDatabase, StoreOptions } from "./PgGrantStore.ts"
import type { Database } from "./Rows.ts"

/**
 * Options of the embedded store.
 *
 * @category models
 * @since 0.1.0
 */
export interface PgliteOptions extends Omit<StoreOptions, "migrate" | "locking"> {
  /** Where PGlite keeps its files; in memory when absent. */
  readonly dataDir?: string
}

/**
 * Opens PGlite and a kysely instance over it (closed when the scope closes).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeKysely = (dataDir?: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pglite = dataDir === undefined ? new PGlite() : new PGlite(dataDir)
        await pglite.waitReady
        return new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
      },
      catch: (cause) => new MigrationError({ message: `opening PGlite: ${String(cause)}`, cause })
    }),
    (db) => Effect.promise(() => db.destroy()).pipe(Effect.ignore)
  )

/**
 * The embedded store layer: PGlite, migrated on build, closed with the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPglite = (
  options: PgliteOptions = {}
): Layer.Layer<GrantStore.GrantStore | PgDatabase, MigrationError, SecretBox.SecretBox> =>
  Layer.unwrap(Effect.map(makeKysely(options.dataDir), (db) => layerFromKysely(db, { ...options, migrate: true, locking: "process" })))
