/**
 * The core's `AuditLog` port on the store's `audit_events` table (same schema, same
 * connection as the grant store, through the `PgClient` in context).
 *
 * `record` never fails (the port says so): a write that fails is logged as a warning with
 * the event's action and grant id and dropped; `list` returns newest first and an empty
 * list when the database cannot be read (also logged).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { AuditLog } from "@transient-access/core"
import { connectionOf } from "./internal/connection.ts"
import { DbInt } from "./internal/rows.ts"
import { query } from "./internal/transaction.ts"
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
    return AuditLog.AuditLog.of({
      record: (event) =>
        query("record audit event", () =>
          q
            .insertInto("audit_events")
            .values({
              at_ms: event.at,
              actor: event.actor,
              action: event.action,
              grant_id: event.grantId,
              details: JSON.stringify(event.details)
            })
            .execute()
        ).pipe(
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
          Effect.flatMap((rows) =>
            Effect.forEach(rows, (row) =>
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
            )
          ),
          Effect.catch((error) => Effect.logWarning("audit events not readable", { message: error.message }).pipe(Effect.as([])))
        )
      }
    })
  })
)
