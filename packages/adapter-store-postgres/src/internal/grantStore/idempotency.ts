/**
 * Internal: idempotency keys — reading a key (a replay, a conflict, or nothing), claiming it
 * in the grant's transaction, and pruning keys past retention.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { sql } from "kysely"
import type { Kysely } from "kysely"
import { GrantStore } from "@transient-access/core"
import type { Connection } from "../connection.ts"
import { toGrant } from "../rows.ts"
import type { Database } from "../rows.ts"
import { query } from "../transaction.ts"
import { databaseNow, storeError } from "./context.ts"
import type { StoreContext } from "./context.ts"
import { selectGrants } from "./grantRows.ts"

/**
 * How long an idempotency key is honoured (24 hours, store clock).
 *
 * @category constructors
 * @since 0.2.0
 */
export const idempotencyRetentionMs = 24 * 60 * 60 * 1000

/**
 * The replay a live key answers with, `IdempotencyConflict` for another fingerprint, or none.
 *
 * @category constructors
 * @since 0.2.0
 */
export const readIdempotency = (
  context: StoreContext,
  trx: Kysely<Database>,
  key: GrantStore.IdempotencyKey
): Effect.Effect<Option.Option<GrantStore.InsertResult>, GrantStore.IdempotencyConflict | GrantStore.StoreError> =>
  Effect.gen(function* () {
    const now = yield* context.nowSql
    const row = yield* query("read idempotency key", () =>
      context
        .q(trx)
        .selectFrom("idempotency_keys")
        .select(["fingerprint", "grant_id"])
        .where("actor", "=", key.actor)
        .where("key", "=", key.key)
        .where("created_at_ms", ">", sql<number>`${now} - ${idempotencyRetentionMs}`)
        .executeTakeFirst()
    )
    if (row === undefined) return Option.none()
    if (row.fingerprint !== key.fingerprint) return yield* new GrantStore.IdempotencyConflict({ key: key.key })
    const grantRow = yield* query("read replayed grant", () => selectGrants(context, trx).where("id", "=", row.grant_id).executeTakeFirst())
    if (grantRow === undefined) return yield* storeError("Corrupt", "idempotency key points at a missing grant")
    return Option.some({ _tag: "Replayed", grant: yield* toGrant(grantRow) })
  })

/**
 * Claims `key` for `grantId` (a new key, or one past retention); false when a live key of
 * a concurrent request holds it.
 *
 * @category constructors
 * @since 0.2.0
 */
export const claimIdempotencyKey = (
  context: StoreContext,
  trx: Kysely<Database>,
  key: GrantStore.IdempotencyKey,
  grantId: string
): Effect.Effect<boolean, GrantStore.StoreError> =>
  Effect.gen(function* () {
    const now = yield* context.nowSql
    const claimed = yield* query("insert idempotency key", () =>
      context
        .q(trx)
        .insertInto("idempotency_keys")
        .values({
          actor: key.actor,
          key: key.key,
          fingerprint: key.fingerprint,
          grant_id: grantId,
          created_at_ms: now
        })
        .onConflict((conflict) =>
          conflict
            .columns(["actor", "key"])
            .doUpdateSet({
              fingerprint: key.fingerprint,
              grant_id: grantId,
              created_at_ms: now
            })
            .where("idempotency_keys.created_at_ms", "<=", sql<number>`${now} - ${idempotencyRetentionMs}`)
        )
        .returning("actor")
        .execute()
    )
    return claimed.length > 0
  })

/**
 * Deletes keys older than the retention (store-clock ms `now`, default the database's) and
 * returns how many.
 *
 * @category constructors
 * @since 0.2.0
 */
export const pruneIdempotencyKeys = (
  connection: Pick<Connection, "db" | "schema">,
  now?: number
): Effect.Effect<number, GrantStore.StoreError> =>
  Effect.gen(function* () {
    const nowSql = now === undefined ? databaseNow : sql<number>`${now}::bigint`
    const result = yield* query("prune idempotency keys", () =>
      connection.db
        .withSchema(connection.schema)
        .deleteFrom("idempotency_keys")
        .where("created_at_ms", "<=", sql<number>`${nowSql} - ${idempotencyRetentionMs}`)
        .executeTakeFirst()
    )
    return Number(result.numDeletedRows)
  })
