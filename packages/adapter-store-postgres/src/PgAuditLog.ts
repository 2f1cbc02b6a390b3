/**
 * The core's `AuditLog` port on the store's `audit_events` table (same schema, same
 * connection as the grant store, through the `PgClient` in context).
 *
 * `record` never fails (the port says so): a write that fails is logged as a warning with
 * the event's action and grant id and dropped; `list` returns newest first and an empty
 * list when the database cannot be read (also logged).
 *
 * The chain: `record` takes a transaction-scoped advisory lock of the schema's audit log,
 * reads the newest hash and inserts the event with its chained hash, so concurrent writers
 * (any number of processes) extend one chain. `exportChain` reads it oldest first and
 * `verify` recomputes it (`AuditLog.verifyChain`); records written before migration
 * `0004_audit_chain` are counted as unchained.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { sql } from "kysely"
import { AuditLog } from "@transient-access/core"
import { connectionOf } from "./internal/connection.ts"
import { DbInt } from "./internal/rows.ts"
import { makeTransactions, query } from "./internal/transaction.ts"
import { PgClient } from "./PgClient.ts"

const AuditRow = Schema.Struct({
  at_ms: DbInt,
  actor: Schema.String,
  action: Schema.String,
  grant_id: Schema.NullOr(Schema.String),
  details: Schema.Unknown
})

const decodeRow = Schema.decodeUnknownEffect(AuditRow)
const decodeEvent = Schema.decodeUnknownEffect(AuditLog.AuditEvent)

/**
 * The audit log on the `PgClient` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<AuditLog.AuditLog, never, PgClient> = Layer.effect(
  AuditLog.AuditLog,
  Effect.gen(function* () {
    const { db, schema } = yield* connectionOf(yield* PgClient)
    const q = db.withSchema(schema)
    const transactions = makeTransactions(db)
    const toEvent = (row: unknown) =>
      decodeRow(row).pipe(
        Effect.flatMap((decoded) =>
          decodeEvent({
            at: decoded.at_ms,
            actor: decoded.actor,
            action: decoded.action,
            grantId: decoded.grant_id,
            details: decoded.details
          })
        )
      )
    const exportChain = Effect.gen(function* () {
      const rows = yield* query("export audit chain", () =>
        q
          .selectFrom("audit_events")
          .select(["id", "at_ms", "actor", "action", "grant_id", "details", "previous_hash", "hash"])
          .orderBy("id", "asc")
          .execute()
      )
      const chained: Array<AuditLog.ChainedEvent> = []
      let unchained = 0
      for (const row of rows) {
        if (row.hash === null || row.previous_hash === null) {
          unchained++
          continue
        }
        chained.push({ position: chained.length + 1, event: yield* toEvent(row), previousHash: row.previous_hash, hash: row.hash })
      }
      return { chained, unchained }
    })
    return AuditLog.AuditLog.of({
      record: (event) =>
        transactions
          .run("record audit event", (trx) =>
            Effect.gen(function* () {
              yield* query("lock audit chain", () => sql`select pg_advisory_xact_lock(hashtext(${`${schema}.audit_events`}))`.execute(trx))
              const last = yield* query("read audit chain head", () =>
                trx
                  .withSchema(schema)
                  .selectFrom("audit_events")
                  .select("hash")
                  .where("hash", "is not", null)
                  .orderBy("id", "desc")
                  .limit(1)
                  .execute()
              )
              const previousHash = last[0]?.hash ?? AuditLog.genesisHash
              yield* query("record audit event", () =>
                trx
                  .withSchema(schema)
                  .insertInto("audit_events")
                  .values({
                    at_ms: event.at,
                    actor: event.actor,
                    action: event.action,
                    grant_id: event.grantId,
                    details: JSON.stringify(event.details),
                    previous_hash: previousHash,
                    hash: AuditLog.chainHash(previousHash, event)
                  })
                  .execute()
              )
            })
          )
          .pipe(
            Effect.asVoid,
            Effect.catch((error) =>
              Effect.logWarning("audit event not recorded", { action: event.action, grantId: event.grantId, reason: error.reason })
            )
          ),
      list: (filter) => {
        let builder = q.selectFrom("audit_events").select(["at_ms", "actor", "action", "grant_id", "details"])
        if (filter.grantId !== undefined) builder = builder.where("grant_id", "=", filter.grantId)
        return query("list audit events", () =>
          builder
            .orderBy("id", "desc")
            .limit(filter.limit ?? 100)
            .execute()
        ).pipe(
          Effect.flatMap((rows) => Effect.forEach(rows, toEvent)),
          Effect.catch((error) => Effect.logWarning("audit events not readable", { message: error.message }).pipe(Effect.as([])))
        )
      },
      exportChain: exportChain.pipe(
        Effect.map(({ chained }) => chained),
        Effect.catch((error) => Effect.logWarning("audit chain not readable", { message: error.message }).pipe(Effect.as([])))
      ),
      verify: exportChain.pipe(
        Effect.map(({ chained, unchained }) => AuditLog.verifyChain(chained, unchained)),
        // an unreadable log cannot be shown intact
        Effect.catch((error) =>
          Effect.succeed({ checked: 0, unchained: 0, broken: { position: 0, reason: `the audit log could not be read: ${error.message}` } })
        )
      )
    })
  })
)
