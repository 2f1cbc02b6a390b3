/**
 * Internal: `stats` — grant counts by state, stuck revokes, pending outbox rows and the age
 * of the oldest one (store clock), in one statement.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { sql } from "kysely"
import { query } from "../transaction.ts"
import type { Service, StoreContext } from "./context.ts"

/**
 * `stats`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeStats = (context: StoreContext): Pick<Service, "stats"> => {
  const { nowSql, table, transactions } = context

  const stats: Service["stats"] = Effect.gen(function* () {
    const db = yield* transactions.executor
    const now = yield* nowSql
    const result = yield* query("stats", () =>
      sql<Record<string, number | string | null>>`select
          (select count(*) from ${table("grants")} where state = 'pending') as pending,
          (select count(*) from ${table("grants")} where state = 'active') as active,
          (select count(*) from ${table("grants")} where state = 'revoking') as revoking,
          (select count(*) from ${table("grants")} where state = 'revoked') as revoked,
          (select count(*) from ${table("grants")} where revoke_stuck and state = 'revoking') as stuck,
          (select count(*) from ${table("outbox")}) as outbox,
          (select greatest(0, ${now} - min(created_at_ms)) from ${table("outbox")}) as oldest`.execute(db)
    )
    const row = result.rows[0] ?? {}
    const count = (key: string) => Number(row[key] ?? 0)
    return {
      grantsByState: { pending: count("pending"), active: count("active"), revoking: count("revoking"), revoked: count("revoked") },
      revokeStuck: count("stuck"),
      outboxPending: count("outbox"),
      oldestOutboxAgeMs: count("oldest")
    }
  }).pipe(Effect.withSpan("GrantStore.stats"))

  return { stats }
}
