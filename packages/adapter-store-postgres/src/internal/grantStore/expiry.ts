/**
 * Internal: `claimExpired` — due pending/active grants (store clock) selected
 * `FOR UPDATE SKIP LOCKED` (and, with process locking, not held in process), the caller's
 * plan applied and its jobs written in the same transaction, regions locked in sorted order
 * so concurrent claimers never deadlock.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import { type Grant as GrantModule, Lifecycle } from "@transient-access/core"
import { toGrants } from "../rows.ts"
import { query } from "../transaction.ts"
import { storeError } from "./context.ts"
import type { Service, StoreContext } from "./context.ts"
import { checkJobs, patched, selectGrants, writeGrant } from "./grantRows.ts"
import { bumpRegion } from "./revisions.ts"

type Grant = GrantModule.Grant

const liveStates = ["pending", "active"] as const

/**
 * `claimExpired`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeExpiry = (context: StoreContext): Pick<Service, "claimExpired"> => {
  const { nowSql, processLocks, transactions } = context

  const claimExpired: Service["claimExpired"] = Effect.fn("GrantStore.claimExpired")(function* (input) {
    if (input.limit <= 0) return []
    const now = yield* nowSql
    const held = processLocks?.held() ?? []
    return yield* transactions.run("claimExpired", (trx) =>
      Effect.gen(function* () {
        const rows = yield* query("claim expired", () =>
          selectGrants(context, trx)
            .select(now.as("store_now"))
            .where("state", "in", liveStates)
            .where("expires_at_ms", "<=", now)
            .$if(held.length > 0, (builder) => builder.where("id", "not in", held))
            .orderBy("expires_at_ms")
            .orderBy("sequence")
            .limit(Math.floor(input.limit))
            .forUpdate()
            .skipLocked()
            .execute()
        )
        if (rows.length === 0) return []
        const storeNow = Number(rows[0]?.store_now)
        const claimed = yield* toGrants(rows)
        // Lock regions in a fixed order so that concurrent claimers never deadlock.
        const byRegion = new Map<string, Array<Grant>>()
        for (const grant of claimed) byRegion.set(grant.regionId, [...(byRegion.get(grant.regionId) ?? []), grant])
        const updated: Array<Grant> = []
        for (const regionId of [...byRegion.keys()].sort()) {
          const grants = byRegion.get(regionId) ?? []
          const first = yield* bumpRegion(context, trx, regionId, grants.length)
          for (const [offset, grant] of grants.entries()) {
            const { jobs, patch } = input.plan(grant, storeNow)
            if (patch.state !== undefined && !Lifecycle.canTransition(grant.state, patch.state)) {
              return yield* storeError("Unknown", `claimExpired plan refused: ${grant.state} -> ${patch.state}`)
            }
            const { next, wipeSecret } = yield* patched(grant, patch, first + offset)
            yield* writeGrant(context, trx, next, wipeSecret, yield* checkJobs(jobs))
            updated.push(next)
          }
        }
        return updated
      })
    )
  })

  return { claimExpired }
}
