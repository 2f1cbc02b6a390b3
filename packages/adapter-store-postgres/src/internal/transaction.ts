/**
 * Running Effects inside a kysely controlled transaction, and running promise-returning
 * queries as Effects with the port's error mapping.
 *
 * A transaction is committed when its body succeeds and rolled back when it fails or is
 * interrupted. A store operation called from inside `withLiveGrant`'s callback joins the
 * transaction that holds the row lock (through a savepoint) instead of waiting for a second
 * connection that the lock would block — the ambient transaction is tagged with the store
 * instance that opened it, so another store instance never joins it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { sql } from "kysely"
import type { IsolationLevel, Kysely } from "kysely"
import type { GrantStore } from "@transient-access/core"
import type { Database } from "./rows.ts"
import { toStoreError } from "./errors.ts"

/** A transaction that operations of the store instance `owner` join. */
interface Ambient {
  readonly owner: symbol
  readonly trx: Kysely<Database>
}

/** The ambient transaction of the current fiber, if any. */
export const AmbientTransaction = Context.Reference<Ambient | undefined>("@transient-access/adapter-store-postgres/AmbientTransaction", {
  defaultValue: () => undefined
})

/** Runs a driver call as an Effect; failures become `StoreError` unless `onError` maps them. */
export const query = <A, E = never>(
  operation: string,
  run: () => Promise<A>,
  onError?: (cause: unknown) => E | undefined
): Effect.Effect<A, E | GrantStore.StoreError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause): E | GrantStore.StoreError => onError?.(cause) ?? toStoreError(operation, cause)
  })

/** Transaction runner of one store instance. */
export interface Transactions {
  /** Runs `body` in a transaction (or a savepoint of the ambient one). */
  readonly run: <A, E, R>(
    operation: string,
    body: (trx: Kysely<Database>) => Effect.Effect<A, E, R>,
    options?: { readonly isolation?: IsolationLevel }
  ) => Effect.Effect<A, E | GrantStore.StoreError, R>
  /** The connection a single statement runs on: the ambient transaction if this store owns it, else the pool. */
  readonly executor: Effect.Effect<Kysely<Database>>
  /** Makes `trx` the ambient transaction of `effect` (store calls inside join it). */
  readonly ambient: <A, E, R>(trx: Kysely<Database>, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** Builds the transaction runner of a store instance over `db`. */
export const makeTransactions = (db: Kysely<Database>): Transactions => {
  const owner = Symbol("PgGrantStore")
  let savepoints = 0

  const nested = <A, E, R>(operation: string, trx: Kysely<Database>, body: (trx: Kysely<Database>) => Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const name = `ta_sp_${++savepoints}`
      yield* query(operation, () => sql`savepoint ${sql.id(name)}`.execute(trx))
      const exit = yield* Effect.exit(body(trx))
      if (Exit.isSuccess(exit)) {
        yield* query(operation, () => sql`release savepoint ${sql.id(name)}`.execute(trx))
        return exit.value
      }
      yield* query(operation, () => sql`rollback to savepoint ${sql.id(name)}`.execute(trx)).pipe(Effect.ignore)
      return yield* Effect.failCause(exit.cause)
    })

  const run: Transactions["run"] = (operation, body, options) =>
    Effect.gen(function* () {
      const current = yield* AmbientTransaction
      if (current !== undefined && current.owner === owner) return yield* nested(operation, current.trx, body)
      return yield* Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const builder =
            options?.isolation === undefined ? db.startTransaction() : db.startTransaction().setIsolationLevel(options.isolation)
          const trx = yield* query(operation, () => builder.execute())
          const exit = yield* Effect.exit(restore(body(trx)))
          if (Exit.isSuccess(exit)) {
            yield* query(`${operation} (commit)`, () => trx.commit().execute()).pipe(
              Effect.tapError(() => query(operation, () => trx.rollback().execute()).pipe(Effect.ignore))
            )
            return exit.value
          }
          yield* query(`${operation} (rollback)`, () => trx.rollback().execute()).pipe(Effect.ignore)
          return yield* Effect.failCause(exit.cause)
        })
      )
    })

  return {
    run,
    executor: Effect.gen(function* () {
      const current = yield* AmbientTransaction
      return current !== undefined && current.owner === owner ? current.trx : db
    }),
    ambient: (trx, effect) => Effect.provideService(effect, AmbientTransaction, { owner, trx })
  }
}
