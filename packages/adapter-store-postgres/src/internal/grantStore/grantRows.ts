/**
 * Internal: the grant-row building blocks the reads and writes share — selecting grant
 * columns, locking a grant row, checking grants and jobs before they are written, the
 * patched grant, and writing a changed grant together with its jobs.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Kysely, QueryCreator, RawBuilder } from "kysely"
import { Grant as GrantModule, Job as JobModule } from "@transient-access/core"
import { fromJob, grantColumns, mutableColumns } from "../rows.ts"
import type { Database } from "../rows.ts"
import { query } from "../transaction.ts"
import { storeError } from "./context.ts"
import type { StoreContext } from "./context.ts"

type Grant = GrantModule.Grant

const decodeGrant = Schema.decodeUnknownEffect(GrantModule.Grant)
const decodeJob = Schema.decodeUnknownEffect(JobModule.Job)

/**
 * Refuses a grant that would not decode (as a row that would not decode: `Corrupt`).
 *
 * @category constructors
 * @since 0.2.0
 */
export const checkGrant = (grant: Grant) =>
  decodeGrant(grant).pipe(Effect.mapError((error) => storeError("Corrupt", `refusing to store an invalid grant: ${error.message}`)))

/**
 * Refuses jobs that would not decode.
 *
 * @category constructors
 * @since 0.2.0
 */
export const checkJobs = (jobs: ReadonlyArray<JobModule.Job>) =>
  Effect.forEach(jobs, (job) =>
    decodeJob(job).pipe(Effect.mapError((error) => storeError("Corrupt", `refusing to store an invalid job: ${error.message}`)))
  )

/**
 * A select of the grant columns (never the secret columns).
 *
 * @category constructors
 * @since 0.2.0
 */
export const selectGrants = (context: StoreContext, trx: Kysely<Database>) => context.q(trx).selectFrom("grants").select(grantColumns)

/**
 * Reads a grant with its row locked (`FOR UPDATE`), and the store's now as `store_now`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const lockGrant = (context: StoreContext, trx: Kysely<Database>, grantId: string, now: RawBuilder<number>) =>
  query("lock grant", () => selectGrants(context, trx).select(now.as("store_now")).where("id", "=", grantId).forUpdate().executeTakeFirst())

/**
 * Writes a changed grant and its jobs in one statement (a data-modifying CTE).
 *
 * @category constructors
 * @since 0.2.0
 */
export const writeGrant = (
  context: StoreContext,
  trx: Kysely<Database>,
  grant: Grant,
  wipeSecret: boolean,
  jobs: ReadonlyArray<JobModule.Job>
) => {
  const write = (creator: QueryCreator<Database>) =>
    creator
      .updateTable("grants")
      .set({
        ...mutableColumns(grant),
        ...(wipeSecret ? { device_secret: null, device_secret_key_id: null } : {})
      })
      .where("id", "=", grant.id)
  return query("update grant", () =>
    jobs.length === 0
      ? write(context.q(trx))
          .execute()
          .then(() => undefined)
      : context
          .q(trx)
          .with("changed", (creator) => write(creator).returning("id"))
          .insertInto("outbox")
          .values(jobs.map(fromJob))
          .execute()
          .then(() => undefined)
  )
}

/**
 * The grant after a patch: generation bumped, revision stamped, secret wiped once revoked.
 *
 * @category constructors
 * @since 0.2.0
 */
export const patched = (current: Grant, patch: GrantModule.GrantPatch, revision: number) =>
  checkGrant({ ...GrantModule.applyPatch(current, patch), generation: current.generation + 1, revision }).pipe(
    Effect.map((next) => ({ next, wipeSecret: next.state === "revoked" }))
  )
