/**
 * Internal: the grant writes under a lock — `update`, a compare-and-set on `generation`
 * under the row lock (and the grant's in-process lock with process locking), and
 * `withLiveGrant`, which holds the row lock (or the in-process lock) while its callback
 * runs; with row locking the callback's store calls join the locking transaction.
 *
 * @since 0.2.0
 */
import type { Kysely } from "kysely"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Grant as GrantModule, GrantStore, Lifecycle } from "@transient-access/core"
import { toGrant } from "../rows.ts"
import type { Database } from "../rows.ts"
import type { Service, StoreContext } from "./context.ts"
import { checkJobs, lockGrant, patched, writeGrant } from "./grantRows.ts"
import { bumpRegion } from "./revisions.ts"

type Grant = GrantModule.Grant

/**
 * `update` and `withLiveGrant`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeGrantsWrite = (context: StoreContext): Pick<Service, "update" | "withLiveGrant"> => {
  const { locked, nowSql, processLocks, transactions } = context

  const update: Service["update"] = Effect.fn("GrantStore.update")(function* (input) {
    const now = yield* nowSql
    return yield* locked(
      input.grantId,
      transactions.run("update", (trx) =>
        Effect.gen(function* () {
          const row = yield* lockGrant(context, trx, input.grantId, now)
          if (row === undefined) return yield* new GrantStore.GrantNotFound({ grantId: input.grantId })
          const current = yield* toGrant(row)
          if (current.generation !== input.expectedGeneration) {
            return yield* new GrantStore.GenerationConflict({
              grantId: input.grantId,
              expected: input.expectedGeneration,
              actual: current.generation
            })
          }
          const to = input.patch.state
          if (to !== undefined && !Lifecycle.canTransition(current.state, to)) {
            return yield* new GrantStore.InvalidTransition({ grantId: input.grantId, from: current.state, to })
          }
          const revision = yield* bumpRegion(context, trx, current.regionId, 1)
          const { next, wipeSecret } = yield* patched(current, input.patch, revision)
          yield* writeGrant(context, trx, next, wipeSecret, yield* checkJobs(input.jobs(next)))
          return next
        })
      )
    )
  })

  const withLiveGrant: Service["withLiveGrant"] = (grantId, use) =>
    Effect.gen(function* () {
      const now = yield* nowSql
      const liveGrant = (trx: Kysely<Database>) =>
        Effect.gen(function* () {
          const row = yield* lockGrant(context, trx, grantId, now)
          if (row === undefined) return Option.none<Grant>()
          const grant = yield* toGrant(row)
          return GrantModule.isLive(grant, Number(row.store_now)) ? Option.some(grant) : Option.none<Grant>()
        })
      if (processLocks !== undefined) {
        return yield* processLocks.withLock(
          grantId,
          Effect.gen(function* () {
            const grant = yield* transactions.run("withLiveGrant", liveGrant)
            return Option.isNone(grant) ? Option.none() : Option.some(yield* use(grant.value))
          })
        )
      }
      return yield* transactions.run("withLiveGrant", (trx) =>
        Effect.gen(function* () {
          const grant = yield* liveGrant(trx)
          return Option.isNone(grant) ? Option.none() : Option.some(yield* transactions.ambient(trx, use(grant.value)))
        })
      )
    }).pipe(Effect.withSpan("GrantStore.withLiveGrant"))

  return { update, withLiveGrant }
}
