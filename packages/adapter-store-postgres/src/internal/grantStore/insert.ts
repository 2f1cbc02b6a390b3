/**
 * Internal: `insert` — a pending grant, its sealed device secret, its jobs, its region
 * revision and its idempotency key in one transaction. A held (region, port) is `PortTaken`
 * (the partial unique index `grants_port_held`); a concurrent request that claimed the same
 * key first makes this one roll back and answer as a replay.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { GrantStore } from "@transient-access/core"
import { isUniqueViolation } from "../errors.ts"
import { fromGrant, fromJob } from "../rows.ts"
import { query } from "../transaction.ts"
import { storeError } from "./context.ts"
import type { Service, StoreContext } from "./context.ts"
import { sealDeviceSecret, sealedColumns } from "./deviceSecrets.ts"
import { checkGrant, checkJobs } from "./grantRows.ts"
import { claimIdempotencyKey, readIdempotency } from "./idempotency.ts"
import { bumpRegion } from "./revisions.ts"

const idempotencyRace = Symbol("IdempotencyRace")

/**
 * `insert`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeInsert = (context: StoreContext): Pick<Service, "insert"> => {
  const { q, transactions } = context

  const insertNew = (input: GrantStore.NewGrant, sealed: Option.Option<string>) =>
    transactions.run("insert", (trx) =>
      Effect.gen(function* () {
        const grant = input.grant
        if (Option.isSome(input.idempotency)) {
          const replay = yield* readIdempotency(context, trx, input.idempotency.value)
          if (Option.isSome(replay)) return replay.value
        }
        if (grant.state !== "pending") {
          return yield* storeError("Unknown", `insert expects a pending grant, got ${grant.state}`)
        }
        const revision = yield* bumpRegion(context, trx, grant.regionId, 1)
        const stored = yield* checkGrant({ ...grant, generation: 1, revision })
        const row = { ...fromGrant(stored), ...sealedColumns(sealed) }
        const jobs = yield* checkJobs(input.jobs(stored))
        yield* query(
          "insert grant",
          () =>
            jobs.length === 0
              ? q(trx)
                  .insertInto("grants")
                  .values(row)
                  .execute()
                  .then(() => undefined)
              : q(trx)
                  .with("inserted", (creator) => creator.insertInto("grants").values(row).returning("id"))
                  .insertInto("outbox")
                  .values(jobs.map(fromJob))
                  .execute()
                  .then(() => undefined),
          (cause) =>
            isUniqueViolation(cause, "grants_port_held")
              ? new GrantStore.PortTaken({ regionId: grant.regionId, port: grant.endpoint.port })
              : undefined
        )
        if (Option.isSome(input.idempotency)) {
          const claimed = yield* claimIdempotencyKey(context, trx, input.idempotency.value, grant.id)
          if (!claimed) return yield* Effect.fail(idempotencyRace)
        }
        const result: GrantStore.InsertResult = { _tag: "Inserted", grant: stored }
        return result
      })
    )

  const insert: Service["insert"] = Effect.fn("GrantStore.insert")(function* (input) {
    const sealed = yield* sealDeviceSecret(context, input.grant, input.deviceSecret)
    const key = input.idempotency
    return yield* insertNew(input, sealed).pipe(
      Effect.catchIf(
        (error) => error === idempotencyRace,
        () =>
          Effect.gen(function* () {
            // A concurrent request claimed the key first: ours rolled back; answer as a replay.
            const replay = Option.isSome(key)
              ? yield* transactions.run("read idempotency key", (trx) => readIdempotency(context, trx, key.value))
              : Option.none()
            if (Option.isNone(replay)) return yield* storeError("Unknown", "idempotency key vanished during insert")
            return replay.value
          })
      )
    )
  })

  return { insert }
}
