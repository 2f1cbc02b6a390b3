/**
 * The core's `PullStore` port on the store's database (same schema and connection as the
 * grant store, through the `PgClient` in context; PostgreSQL or PGlite), so pull mode's tokens, pending
 * commands and check-ins are shared by every process and survive restarts.
 *
 * Tables (migration `0002_pull_store`): `pull_devices` (one row per device: token hash,
 * applied sequence, check-in counter, last check-in as `jsonb`) and `pull_commands`
 * (device, sequence, command as `jsonb`; never a secret — the core's schema strips
 * anything else before a command is written).
 *
 * Every operation is one statement. `enqueue` and `recordCheckIn` both upsert the device
 * row first, so they are ordered by its row lock: a command enqueued after a check-in
 * raised the applied sequence sees the raised value and is dropped; `pending` only returns
 * commands above the applied sequence, so a command that raced a check-in and landed at or
 * below it is never handed out (the next check-in deletes it).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { sql } from "kysely"
import type { RawBuilder } from "kysely"
import { GrantStore, PullStore } from "@transient-access/core"
import { connectionOf } from "./internal/connection.ts"
import { DbInt } from "./internal/rows.ts"
import { query } from "./internal/transaction.ts"
import { PgClient } from "./PgClient.ts"

const CommandRow = Schema.Struct({ sequence: DbInt, command: Schema.Unknown })
const CheckInRow = Schema.Struct({
  outcome: Schema.Literals(["Recorded", "Stale", "Unissued"]),
  count: DbInt,
  pending: Schema.Union([Schema.Array(CommandRow), Schema.String])
})
const LastRow = Schema.Struct({
  check_ins: DbInt,
  last_sequence: DbInt,
  last_received_at_ms: DbInt,
  last_report: Schema.Unknown
})

const corrupt = (what: string) => (error: Schema.SchemaError) =>
  new GrantStore.StoreError({ reason: "Corrupt", message: `unreadable ${what}: ${error.message}` })

const decodeCommands = (rows: ReadonlyArray<unknown>) =>
  Effect.forEach(rows, (row) =>
    Schema.decodeUnknownEffect(CommandRow)(row).pipe(
      Effect.mapError(corrupt("pull_commands row")),
      Effect.flatMap((decoded) => PullStore.decodeStoredCommand(decoded))
    )
  )

/**
 * Builds the pull store over a migrated schema.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<PullStore.PullStore["Service"], never, PgClient> = Effect.gen(function* () {
  const { db, schema } = yield* connectionOf(yield* PgClient)
  const devices = sql.table(`${schema}.pull_devices`)
  const commands = sql.table(`${schema}.pull_commands`)
  const rows = <Row = unknown>(operation: string, statement: () => RawBuilder<Row>) =>
    query(operation, () => statement().execute(db)).pipe(Effect.map((result) => result.rows))

  return PullStore.PullStore.of({
    setTokenHash: (deviceId, tokenHash, options = {}) =>
      PullStore.validateTokenHash(tokenHash).pipe(
        Effect.flatMap((valid) =>
          rows(
            "set device token",
            () =>
              sql`insert into ${devices} as d (device_id, token_hash) values (${deviceId}, ${valid})
              on conflict (device_id) do update set
                previous_token_hash = case when ${options.keepPrevious === true} then d.token_hash else null end,
                token_hash = excluded.token_hash`
          )
        ),
        Effect.asVoid
      ),

    previousTokenHash: (deviceId) =>
      rows<{ previous_token_hash: string | null }>(
        "read previous device token",
        () => sql`select previous_token_hash from ${devices} where device_id = ${deviceId}`
      ).pipe(Effect.map((found) => Option.fromNullishOr(found[0]?.previous_token_hash))),

    retirePreviousTokenHash: (deviceId) =>
      rows("retire previous device token", () => sql`update ${devices} set previous_token_hash = null where device_id = ${deviceId}`).pipe(
        Effect.asVoid
      ),

    tokenHash: (deviceId) =>
      rows<{ token_hash: string | null }>(
        "read device token",
        () => sql`select token_hash from ${devices} where device_id = ${deviceId}`
      ).pipe(Effect.map((found) => Option.fromNullishOr(found[0]?.token_hash))),

    enqueue: (deviceId, entry) =>
      Effect.gen(function* () {
        const valid = yield* PullStore.validateCommand(entry)
        const inserted = yield* rows<{ sequence: unknown }>(
          "enqueue pull command",
          () =>
            sql`with device as (
              insert into ${devices} as d (device_id, issued_sequence) values (${deviceId}, ${valid.sequence}::bigint)
              on conflict (device_id) do update set issued_sequence = greatest(d.issued_sequence, excluded.issued_sequence)
              returning applied_sequence
            )
            insert into ${commands} (device_id, sequence, command)
            select ${deviceId}::text, ${valid.sequence}::bigint, ${JSON.stringify(valid.command)}::jsonb
            from device where ${valid.sequence}::bigint > device.applied_sequence
            on conflict (device_id, sequence) do nothing
            returning sequence`
        )
        return inserted.length === 1
      }),

    pending: (deviceId) =>
      rows(
        "read pending pull commands",
        () =>
          sql`select c.sequence, c.command from ${commands} c join ${devices} d on d.device_id = c.device_id
          where c.device_id = ${deviceId} and c.sequence > d.applied_sequence order by c.sequence`
      ).pipe(Effect.flatMap(decodeCommands)),

    appliedSequence: (deviceId) =>
      rows<{ applied_sequence: unknown }>(
        "read applied sequence",
        () => sql`select applied_sequence from ${devices} where device_id = ${deviceId}`
      ).pipe(
        Effect.flatMap((found) =>
          found[0] === undefined
            ? Effect.succeed(0)
            : Schema.decodeUnknownEffect(DbInt)(found[0].applied_sequence).pipe(Effect.mapError(corrupt("applied sequence")))
        )
      ),

    recordCheckIn: (deviceId, checkIn) =>
      Effect.gen(function* () {
        const valid = yield* PullStore.validateCheckIn(checkIn)
        yield* rows(
          "ensure pull device",
          () => sql`insert into ${devices} (device_id) values (${deviceId}) on conflict (device_id) do nothing`
        )
        // One statement under the device row's lock: judge the report against the issued and
        // applied sequences, and record it only when it is fresh evidence.
        const found = yield* rows(
          "record check-in",
          () =>
            sql`with current as (
              select applied_sequence, issued_sequence, check_ins from ${devices} where device_id = ${deviceId} for update
            ), verdict as (
              select case when ${valid.sequence}::bigint > current.issued_sequence then 'Unissued'
                          when ${valid.sequence}::bigint < current.applied_sequence then 'Stale'
                          else 'Recorded' end as outcome,
                current.applied_sequence, current.check_ins
              from current
            ), updated as (
              update ${devices} d set
                applied_sequence = ${valid.sequence}::bigint,
                check_ins = d.check_ins + 1,
                last_sequence = ${valid.sequence}::bigint,
                last_received_at_ms = ${valid.receivedAt}::bigint,
                last_report = ${JSON.stringify(valid.report)}::jsonb
              from verdict where d.device_id = ${deviceId} and verdict.outcome = 'Recorded'
              returning d.applied_sequence, d.check_ins
            ), dropped as (
              delete from ${commands} c using updated where c.device_id = ${deviceId} and c.sequence <= updated.applied_sequence
            )
            select verdict.outcome,
              coalesce((select check_ins from updated), verdict.check_ins) as count,
              coalesce((
                select json_agg(json_build_object('sequence', c.sequence, 'command', c.command) order by c.sequence)
                from ${commands} c
                where c.device_id = ${deviceId}
                  and c.sequence > coalesce((select applied_sequence from updated), verdict.applied_sequence)
              ), '[]'::json) as pending
            from verdict`
        )
        const row = yield* Schema.decodeUnknownEffect(CheckInRow)(found[0]).pipe(Effect.mapError(corrupt("check-in result")))
        const pending = typeof row.pending === "string" ? yield* parseJsonArray(row.pending) : row.pending
        return { outcome: row.outcome, count: row.count, pending: yield* decodeCommands(pending) }
      }),

    claimDelivery: (deviceId, sequence) =>
      rows(
        "claim pull delivery",
        () =>
          sql`update ${commands} c set delivered = true from ${devices} d
          where c.device_id = ${deviceId} and c.sequence = ${sequence}::bigint and not c.delivered
            and d.device_id = c.device_id and c.sequence > d.applied_sequence
          returning c.sequence`
      ).pipe(Effect.map((claimed) => claimed.length === 1)),

    lastCheckIn: (deviceId) =>
      rows(
        "read last check-in",
        () =>
          sql`select check_ins, last_sequence, last_received_at_ms, last_report from ${devices}
          where device_id = ${deviceId} and check_ins > 0`
      ).pipe(
        Effect.flatMap((found) => {
          if (found[0] === undefined) return Effect.succeed(Option.none())
          return Schema.decodeUnknownEffect(LastRow)(found[0]).pipe(
            Effect.mapError(corrupt("pull_devices row")),
            Effect.flatMap((row) =>
              PullStore.decodeRecordedCheckIn({
                sequence: row.last_sequence,
                receivedAt: row.last_received_at_ms,
                report: row.last_report,
                count: row.check_ins
              })
            ),
            Effect.map(Option.some)
          )
        })
      )
  })
})

/** Some drivers hand `json` back as text. */
const parseJsonArray = (text: string) =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => new GrantStore.StoreError({ reason: "Corrupt", message: "unreadable pending commands" })
  }).pipe(
    Effect.flatMap((value) =>
      Array.isArray(value)
        ? Effect.succeed(value as ReadonlyArray<unknown>)
        : Effect.fail(new GrantStore.StoreError({ reason: "Corrupt", message: "pending commands are not a list" }))
    )
  )

/**
 * The pull store on the `PgClient` in context (its schema must include migration
 * `0002_pull_store`; clients built with `migrate: true` and `PgliteClient` apply it).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PullStore.PullStore, never, PgClient> = Layer.effect(PullStore.PullStore, make)
