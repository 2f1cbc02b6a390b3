/**
 * Internal: the fences' counters — per-region revisions (bumped by every grant write, read
 * with the region's grants as a snapshot, advanced by reconcilers) and per-device command
 * sequences (pull mode).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { sql } from "kysely"
import type { Kysely } from "kysely"
import { toGrants } from "../rows.ts"
import type { Database } from "../rows.ts"
import { query } from "../transaction.ts"
import { storeError } from "./context.ts"
import type { Service, StoreContext } from "./context.ts"
import { selectGrants } from "./grantRows.ts"

/**
 * Bumps a region's revision by `count` and returns the first of the new revisions.
 *
 * @category constructors
 * @since 0.2.0
 */
export const bumpRegion = (context: StoreContext, trx: Kysely<Database>, regionId: string, count: number) =>
  query("bump region revision", () =>
    sql<{ revision: number | string }>`insert into ${context.table("regions")} (region_id, revision) values (${regionId}, ${count})
      on conflict (region_id) do update set revision = ${context.table("regions")}.revision + ${count}
      returning revision`.execute(trx)
  ).pipe(
    Effect.map((result) => Number(result.rows[0]?.revision ?? Number.NaN) - count + 1),
    Effect.filterOrFail(Number.isSafeInteger, () => storeError("Corrupt", "region revision is not an integer"))
  )

/**
 * `regionSnapshot`, `advanceRegionRevision` and `nextDeviceSequence`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeRevisions = (context: StoreContext): Pick<Service, "regionSnapshot" | "advanceRegionRevision" | "nextDeviceSequence"> => {
  const { q, table, transactions } = context

  const regionSnapshot: Service["regionSnapshot"] = Effect.fn("GrantStore.regionSnapshot")(function* (regionId) {
    return yield* transactions.run(
      "regionSnapshot",
      (trx) =>
        Effect.gen(function* () {
          const region = yield* query("read region", () =>
            q(trx).selectFrom("regions").select("revision").where("region_id", "=", regionId).executeTakeFirst()
          )
          const rows = yield* query("region grants", () =>
            selectGrants(context, trx)
              .where("region_id", "=", regionId)
              .where("state", "<>", "revoked")
              .orderBy("created_at_ms", "desc")
              .orderBy("sequence", "desc")
              .execute()
          )
          const revision = region === undefined ? 0 : Number(region.revision)
          if (!Number.isSafeInteger(revision)) return yield* storeError("Corrupt", "region revision is not an integer")
          return { revision, grants: yield* toGrants(rows) }
        }),
      { isolation: "repeatable read" }
    )
  })

  const advanceRegionRevision: Service["advanceRegionRevision"] = Effect.fn("GrantStore.advanceRegionRevision")(
    function* (regionId, atLeast) {
      if (!Number.isSafeInteger(atLeast) || atLeast < 0) return
      const db = yield* transactions.executor
      yield* query("advance region revision", () =>
        sql`insert into ${table("regions")} (region_id, revision) values (${regionId}, ${atLeast})
          on conflict (region_id) do update set revision = greatest(${table("regions")}.revision, excluded.revision)`.execute(db)
      )
    }
  )

  const nextDeviceSequence: Service["nextDeviceSequence"] = Effect.fn("GrantStore.nextDeviceSequence")(function* (deviceId) {
    const db = yield* transactions.executor
    const result = yield* query("next device sequence", () =>
      sql<{ sequence: number | string }>`insert into ${table("device_sequences")} (device_id, sequence) values (${deviceId}, 1)
        on conflict (device_id) do update set sequence = ${table("device_sequences")}.sequence + 1
        returning sequence`.execute(db)
    )
    const sequence = Number(result.rows[0]?.sequence)
    if (!Number.isSafeInteger(sequence)) return yield* storeError("Corrupt", "device sequence is not an integer")
    return sequence
  })

  return { regionSnapshot, advanceRegionRevision, nextDeviceSequence }
}
