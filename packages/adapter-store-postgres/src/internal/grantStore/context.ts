/**
 * Internal: what every query module of one `GrantStore` instance shares — the connection,
 * its transaction runner, the in-process grant locks (process locking only), the sealing
 * box, the store's "now" as SQL, and the schema-qualified query builders.
 *
 * @since 0.2.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { sql } from "kysely"
import type { Kysely, RawBuilder } from "kysely"
import { GrantStore } from "@transient-access/core"
import type { SecretBox } from "@transient-access/core"
import type { Connection } from "../connection.ts"
import { makeGrantLocks } from "../grantLocks.ts"
import type { GrantLocks } from "../grantLocks.ts"
import type { Database } from "../rows.ts"
import { makeTransactions } from "../transaction.ts"
import type { Transactions } from "../transaction.ts"

/**
 * The `GrantStore` service shape the query modules implement parts of.
 *
 * @category models
 * @since 0.2.0
 */
export type Service = GrantStore.GrantStore["Service"]

/**
 * The shared state of one store instance.
 *
 * @category models
 * @since 0.2.0
 */
export interface StoreContext {
  readonly schema: string
  readonly box: SecretBox.SecretBox["Service"]
  readonly transactions: Transactions
  /** Per-grant in-process locks (`locking: "process"`), else undefined. */
  readonly processLocks: GrantLocks | undefined
  /** Runs a write of one grant under its in-process lock (process locking only). */
  readonly locked: <A, E, R>(grantId: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `trx` with the store's schema. */
  readonly q: (trx: Kysely<Database>) => Kysely<Database>
  /** A schema-qualified table for raw SQL. */
  readonly table: (name: keyof Database) => RawBuilder<unknown>
  /** The store's "now" in epoch ms, as an SQL expression. */
  readonly nowSql: Effect.Effect<RawBuilder<number>>
}

/**
 * The database server's transaction time in epoch ms.
 *
 * @category constructors
 * @since 0.2.0
 */
export const databaseNow: RawBuilder<number> = sql<number>`floor(extract(epoch from now()) * 1000)::bigint`

/**
 * A `StoreError` raised by the store itself (not by the driver).
 *
 * @category constructors
 * @since 0.2.0
 */
export const storeError = (reason: GrantStore.StoreError["reason"], message: string): GrantStore.StoreError =>
  new GrantStore.StoreError({ reason, message })

/**
 * The context of a new store instance over `connection` (its own transaction runner and
 * locks, so another instance never joins its transactions).
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeStoreContext = (connection: Connection, box: SecretBox.SecretBox["Service"]): StoreContext => {
  const { db, schema } = connection
  const processLocks = connection.locking === "process" ? makeGrantLocks() : undefined
  return {
    schema,
    box,
    transactions: makeTransactions(db),
    processLocks,
    locked: (grantId, effect) => (processLocks === undefined ? effect : processLocks.withLock(grantId, effect)),
    q: (trx) => trx.withSchema(schema),
    table: (name) => sql.table(`${schema}.${name}`),
    nowSql:
      connection.clock === "effect" ? Effect.map(Clock.currentTimeMillis, (ms) => sql<number>`${ms}::bigint`) : Effect.succeed(databaseNow)
  }
}
