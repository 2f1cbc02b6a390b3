/**
 * Internal: the outbox relay's queries — `takeOutbox` leases rows (`FOR UPDATE SKIP LOCKED`,
 * then stamps `handed_at_ms` and counts the publication; rows handed out longer than
 * `republishAfterMs` ago come back), `markPublished`, and `completeJobs` (deletes the rows).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { sql } from "kysely"
import { toOutboxEntry } from "../rows.ts"
import { query } from "../transaction.ts"
import type { Service, StoreContext } from "./context.ts"

/**
 * `takeOutbox`, `markPublished` and `completeJobs`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeOutbox = (context: StoreContext): Pick<Service, "takeOutbox" | "markPublished" | "completeJobs"> => {
  const { nowSql, q, table, transactions } = context

  const takeOutbox: Service["takeOutbox"] = Effect.fn("GrantStore.takeOutbox")(function* (input) {
    const db = yield* transactions.executor
    if (input.limit <= 0) return []
    const now = yield* nowSql
    const rows = yield* query("take outbox", () =>
      sql<Record<string, unknown>>`with picked as (
          select seq from ${table("outbox")}
          where handed_at_ms is null or handed_at_ms < ${now} - ${Math.max(0, input.republishAfterMs)}
          order by seq limit ${Math.floor(input.limit)}
          for update skip locked)
        update ${table("outbox")} as o set handed_at_ms = ${now}, publications = o.publications + 1
        from picked where o.seq = picked.seq
        returning o.seq, o.job_id, o.grant_id, o.type, o.target, o.generation, o.created_at_ms,
          o.publications - 1 as publications`.execute(db)
    )
    const sorted = rows.rows.toSorted((left, right) => Number(left["seq"]) - Number(right["seq"]))
    return yield* Effect.forEach(sorted, toOutboxEntry)
  })

  const markPublished: Service["markPublished"] = Effect.fn("GrantStore.markPublished")(function* (jobIds) {
    const db = yield* transactions.executor
    if (jobIds.length === 0) return
    const now = yield* nowSql
    yield* query("mark published", () =>
      q(db).updateTable("outbox").set({ published_at_ms: now, handed_at_ms: now }).where("job_id", "in", jobIds).execute()
    )
  })

  const completeJobs: Service["completeJobs"] = Effect.fn("GrantStore.completeJobs")(function* (jobIds) {
    const db = yield* transactions.executor
    if (jobIds.length === 0) return
    yield* query("complete jobs", () => q(db).deleteFrom("outbox").where("job_id", "in", jobIds).execute())
  })

  return { takeOutbox, markPublished, completeJobs }
}
