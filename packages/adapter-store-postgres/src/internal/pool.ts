/**
 * Internal: `pg.Pool` construction for the connections this package owns, the `error`
 * listeners every pool gets, and the kysely instance over a pool.
 *
 * @since 0.2.0
 */
import * as Redacted from "effect/Redacted"
import { Kysely, PostgresDialect } from "kysely"
import pg from "pg"
import type { Database } from "./rows.ts"

/**
 * What a pool is built from (the fields of `PgClient.ConnectionOptions` it reads).
 *
 * @category models
 * @since 0.2.0
 */
export interface PoolSettings {
  readonly url: Redacted.Redacted<string>
  readonly poolSize?: number | undefined
  readonly statementTimeoutMs?: number | undefined
  readonly connectTimeoutMs?: number | undefined
}

/**
 * A kysely instance over a `pg.Pool` (destroying it ends the pool).
 *
 * @category constructors
 * @since 0.2.0
 */
export const kyselyFromPool = (pool: pg.Pool): Kysely<Database> => new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })

/**
 * Makes a pool safe across server restarts: `pg` emits `error` on idle pooled clients and on
 * clients checked out by a transaction when the connection drops, and an `error` event
 * without a listener crashes the process. The listeners only swallow the event; the query
 * in flight still fails (and becomes `StoreError` `Unavailable`), and `pg` drops the client.
 *
 * @category constructors
 * @since 0.2.0
 */
export const guardPool = (pool: pg.Pool): pg.Pool => {
  const ignore = () => {
    // The failing query reports the error; the pool discards the broken client.
  }
  pool.on("error", ignore)
  pool.on("connect", (client) => {
    client.on("error", ignore)
  })
  return pool
}

/**
 * A `pg.Pool` from connection settings, guarded by `guardPool` so that a server restart
 * never crashes the process (the queries in flight report `Unavailable`).
 *
 * @category constructors
 * @since 0.2.0
 */
export const makePool = (settings: PoolSettings): pg.Pool => {
  const pool = new pg.Pool({
    connectionString: Redacted.value(settings.url),
    max: settings.poolSize ?? 10,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 5_000,
    statement_timeout: settings.statementTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000
  })
  return guardPool(pool)
}
