/**
 * The `GrantStore` port on PostgreSQL through kysely and the `pg` driver.
 *
 * - Port uniqueness is the partial unique index `grants_port_held (region_id, port)` over
 *   pending/active/revoking grants; a violation is `PortTaken`.
 * - Every grant write bumps `regions.revision` in the same transaction (the regional fence);
 *   the region row lock also orders concurrent writes of one region.
 * - Outbox rows are written in the grant's transaction; `takeOutbox` and `claimExpired` use
 *   `FOR UPDATE SKIP LOCKED`, so several relays / schedulers split the work.
 * - `update` is a compare-and-set on `generation` under a row lock.
 * - The device's copy of a password is sealed with core's `SecretBox` (AES-256-GCM, key id
 *   in the sealed value and in `device_secret_key_id`, AAD = grant and device ids) and wiped
 *   by `wipeDeviceSecret` or when the grant leaves the live states.
 * - Time: `clock: "database"` (default) uses the server's `now()` (transaction time);
 *   `clock: "effect"` passes Effect `Clock` time as a parameter (tests, model runs).
 *
 * Layers: `layer(options)` owns a `pg.Pool` (closed with the layer), `layerConfig` reads
 * `TA_DATABASE_URL` (Redacted), `TA_DATABASE_SCHEMA`, `TA_DATABASE_POOL_SIZE`,
 * `TA_DATABASE_STATEMENT_TIMEOUT_MS`, `TA_DATABASE_MIGRATE`; `layerFromPool` and
 * `layerFromKysely` use an instance the platform already has (and never close it). All
 * layers need core's `SecretBox` and also provide `PgDatabase` (the raw kysely handle).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Kysely, PostgresDialect, sql } from "kysely"
import type { QueryCreator, RawBuilder } from "kysely"
import pg from "pg"
import * as Schema from "effect/Schema"
import { Grant as GrantModule, GrantStore, Job as JobModule, SecretBox } from "@transient-access/core"
import { isUniqueViolation } from "./internal/errors.ts"
import { makeGrantLocks } from "./internal/grantLocks.ts"
import { makeTransactions, query } from "./internal/transaction.ts"
import { defaultSchema, migrate, MigrationError, validateSchemaName } from "./Migrations.ts"
import { fromGrant, fromJob, grantColumns, mutableColumns, toGrant, toGrants, toOutboxEntry } from "./Rows.ts"
import type { Database } from "./Rows.ts"

type Grant = GrantModule.Grant
type Service = GrantStore.GrantStore["Service"]

/**
 * Where the store takes its time from.
 *
 * @category models
 * @since 0.1.0
 */
export type ClockSource = "database" | "effect"

/**
 * Options of every store layer.
 *
 * @category models
 * @since 0.1.0
 */
export interface StoreOptions {
  /** The schema holding the tables (default `transient_access`). */
  readonly schema?: string
  /** `database` (default): the server's `now()`; `effect`: Effect `Clock` time. */
  readonly clock?: ClockSource
  /** Run the migrations when the layer is built (default false). */
  readonly migrate?: boolean
  /**
   * `row` (default): `withLiveGrant` holds the row lock (`FOR UPDATE`) while its callback
   * runs. `process`: an in-process per-grant lock instead, for single-connection backends
   * used by one process (PGlite); see `PgliteStore`.
   */
  readonly locking?: "row" | "process"
}

/**
 * Options of `layer`: a connection URL and pool settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConnectionOptions extends StoreOptions {
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 10). */
  readonly poolSize?: number
  /** Server-side statement timeout in ms (default 10 000). */
  readonly statementTimeoutMs?: number
  /** Connection timeout in ms (default 5 000). */
  readonly connectTimeoutMs?: number
}

/**
 * The raw kysely handle and schema behind a store layer (for the audit log, maintenance
 * and test probes).
 *
 * @category services
 * @since 0.1.0
 * @stability unstable
 */
export class PgDatabase extends Context.Service<PgDatabase, {
  readonly db: Kysely<Database>
  readonly schema: string
}>()("@transient-access/adapter-store-postgres/PgDatabase") {}

const holdingStates = GrantModule.portHoldingStates
const decodeGrant = Schema.decodeUnknownEffect(GrantModule.Grant)
const decodeJob = Schema.decodeUnknownEffect(JobModule.Job)

/**
 * How long an idempotency key is honoured (24 hours, store clock); afterwards the same key
 * starts a new request. Rows stay until `pruneIdempotencyKeys` removes them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const idempotencyRetentionMs = 24 * 60 * 60 * 1000
const liveStates = ["pending", "active"] as const

/** The database server's transaction time in epoch ms. */
const databaseNow = sql<number>`floor(extract(epoch from now()) * 1000)::bigint`

const storeError = (reason: GrantStore.StoreError["reason"], message: string) =>
  new GrantStore.StoreError({ reason, message })

/**
 * Builds the store over a kysely instance whose schema is already migrated.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  db: Kysely<Database>,
  options: StoreOptions = {}
): Effect.Effect<Service, MigrationError, SecretBox.SecretBox> =>
  Effect.gen(function*() {
    const schema = yield* validateSchemaName(options.schema ?? defaultSchema)
    const box = yield* SecretBox.SecretBox
    const clock = options.clock ?? "database"
    const transactions = makeTransactions(db)
    const processLocks = options.locking === "process" ? makeGrantLocks() : undefined
    /** Runs a write of one grant under its in-process lock (process locking only). */
    const locked = <A, E, R>(grantId: string, effect: Effect.Effect<A, E, R>) =>
      processLocks === undefined ? effect : processLocks.withLock(grantId, effect)
    const q = (trx: Kysely<Database>) => trx.withSchema(schema)
    const table = (name: keyof Database) => sql.table(`${schema}.${name}`)

    /** The store's "now" in epoch ms, as an SQL expression. */
    const nowSql: Effect.Effect<RawBuilder<number>> = clock === "effect"
      ? Effect.map(Clock.currentTimeMillis, (ms) => sql<number>`${ms}::bigint`)
      : Effect.succeed(databaseNow)

    const aad = (grant: { readonly id: string; readonly deviceId: string }) =>
      SecretBox.deviceSecretAad(grant.id, grant.deviceId)

    /** Bumps a region's revision by `count` and returns the first of the new revisions. */
    const bumpRegion = (trx: Kysely<Database>, regionId: string, count: number) =>
      query("bump region revision", () =>
        sql<{ revision: number | string }>`insert into ${table("regions")} (region_id, revision) values (${regionId}, ${count})
          on conflict (region_id) do update set revision = ${table("regions")}.revision + ${count}
          returning revision`.execute(trx)).pipe(
          Effect.map((result) => Number(result.rows[0]?.revision ?? Number.NaN) - count + 1),
          Effect.filterOrFail(Number.isSafeInteger, () => storeError("Corrupt", "region revision is not an integer"))
        )

    /** Refuses a grant that would not decode (as a row that would not decode: `Corrupt`). */
    const checkGrant = (grant: Grant) =>
      decodeGrant(grant).pipe(
        Effect.mapError((error) => storeError("Corrupt", `refusing to store an invalid grant: ${error.message}`))
      )

    /** Refuses jobs that would not decode. */
    const checkJobs = (jobs: ReadonlyArray<JobModule.Job>) =>
      Effect.forEach(jobs, (job) =>
        decodeJob(job).pipe(
          Effect.mapError((error) => storeError("Corrupt", `refusing to store an invalid job: ${error.message}`))
        ))

    const selectGrants = (trx: Kysely<Database>) => q(trx).selectFrom("grants").select(grantColumns)

    const lockGrant = (trx: Kysely<Database>, grantId: string, now: RawBuilder<number>) =>
      query("lock grant", () =>
        selectGrants(trx).select(now.as("store_now")).where("id", "=", grantId).forUpdate().executeTakeFirst())

    /** Writes a changed grant and its jobs in one statement (a data-modifying CTE). */
    const writeGrant = (trx: Kysely<Database>, grant: Grant, wipeSecret: boolean, jobs: ReadonlyArray<JobModule.Job>) => {
      const write = (creator: QueryCreator<Database>) =>
        creator.updateTable("grants").set({
          ...mutableColumns(grant),
          ...(wipeSecret ? { device_secret: null, device_secret_key_id: null } : {})
        }).where("id", "=", grant.id)
      return query("update grant", () =>
        jobs.length === 0
          ? write(q(trx)).execute().then(() => undefined)
          : q(trx).with("changed", (creator) => write(creator).returning("id")).insertInto("outbox").values(jobs.map(fromJob))
            .execute().then(() => undefined))
    }

    /** The grant after a patch: generation bumped, revision stamped, secret wiped once revoked. */
    const patched = (current: Grant, patch: GrantModule.GrantPatch, revision: number) =>
      checkGrant({ ...GrantModule.applyPatch(current, patch), generation: current.generation + 1, revision }).pipe(
        Effect.map((next) => ({ next, wipeSecret: next.state === "revoked" }))
      )

    const readIdempotency = (
      trx: Kysely<Database>,
      key: GrantStore.IdempotencyKey
    ): Effect.Effect<Option.Option<GrantStore.InsertResult>, GrantStore.IdempotencyConflict | GrantStore.StoreError> =>
      Effect.gen(function*() {
        const now = yield* nowSql
        const row = yield* query("read idempotency key", () =>
          q(trx).selectFrom("idempotency_keys").select(["fingerprint", "grant_id"])
            .where("actor", "=", key.actor).where("key", "=", key.key)
            .where("created_at_ms", ">", sql<number>`${now} - ${idempotencyRetentionMs}`).executeTakeFirst())
        if (row === undefined) return Option.none()
        if (row.fingerprint !== key.fingerprint) return yield* new GrantStore.IdempotencyConflict({ key: key.key })
        const grantRow = yield* query("read replayed grant", () =>
          selectGrants(trx).where("id", "=", row.grant_id).executeTakeFirst())
        if (grantRow === undefined) return yield* storeError("Corrupt", "idempotency key points at a missing grant")
        return Option.some({ _tag: "Replayed", grant: yield* toGrant(grantRow) })
      })

    const idempotencyRace = Symbol("IdempotencyRace")

    const insertNew = (input: GrantStore.NewGrant, sealed: Option.Option<string>) =>
      transactions.run("insert", (trx) =>
        Effect.gen(function*() {
          const grant = input.grant
          if (Option.isSome(input.idempotency)) {
            const replay = yield* readIdempotency(trx, input.idempotency.value)
            if (Option.isSome(replay)) return replay.value
          }
          if (grant.state !== "pending") {
            return yield* storeError("Unknown", `insert expects a pending grant, got ${grant.state}`)
          }
          const revision = yield* bumpRegion(trx, grant.regionId, 1)
          const stored = yield* checkGrant({ ...grant, generation: 1, revision })
          const row = {
            ...fromGrant(stored),
            device_secret: Option.getOrNull(sealed),
            device_secret_key_id: Option.match(sealed, { onNone: () => null, onSome: (value) => SecretBox.keyIdOf(value) ?? null })
          }
          const jobs = yield* checkJobs(input.jobs(stored))
          yield* query(
            "insert grant",
            () =>
              jobs.length === 0
                ? q(trx).insertInto("grants").values(row).execute().then(() => undefined)
                : q(trx).with("inserted", (creator) => creator.insertInto("grants").values(row).returning("id"))
                  .insertInto("outbox").values(jobs.map(fromJob)).execute().then(() => undefined),
            (cause) =>
              isUniqueViolation(cause, "grants_port_held")
                ? new GrantStore.PortTaken({ regionId: grant.regionId, port: grant.endpoint.port })
                : undefined
          )
          if (Option.isSome(input.idempotency)) {
            const key = input.idempotency.value
            const now = yield* nowSql
            const claimed = yield* query("insert idempotency key", () =>
              q(trx).insertInto("idempotency_keys").values({
                actor: key.actor,
                key: key.key,
                fingerprint: key.fingerprint,
                grant_id: grant.id,
                created_at_ms: now
              }).onConflict((conflict) =>
                conflict.columns(["actor", "key"]).doUpdateSet({
                  fingerprint: key.fingerprint,
                  grant_id: grant.id,
                  created_at_ms: now
                }).where("idempotency_keys.created_at_ms", "<=", sql<number>`${now} - ${idempotencyRetentionMs}`)
              ).returning("actor").execute())
            if (claimed.length === 0) return yield* Effect.fail(idempotencyRace)
          }
          const result: GrantStore.InsertResult = { _tag: "Inserted", grant: stored }
          return result
        }))

    const insert: Service["insert"] = Effect.fn("GrantStore.insert")(function*(input) {
      const sealed = Option.isSome(input.deviceSecret)
        ? Option.some(
          yield* box.seal(input.deviceSecret.value, aad(input.grant)).pipe(
            Effect.mapError((error) => storeError("Unknown", `sealing the device secret: ${error.message}`))
          )
        )
        : Option.none<string>()
      const key = input.idempotency
      return yield* insertNew(input, sealed).pipe(
        Effect.catchIf(
          (error) => error === idempotencyRace,
          () =>
            Effect.gen(function*() {
              // A concurrent request claimed the key first: ours rolled back; answer as a replay.
              const replay = Option.isSome(key)
                ? yield* transactions.run("read idempotency key", (trx) => readIdempotency(trx, key.value))
                : Option.none()
              if (Option.isNone(replay)) return yield* storeError("Unknown", "idempotency key vanished during insert")
              return replay.value
            })
        )
      )
    })

    const get: Service["get"] = Effect.fn("GrantStore.get")(function*(grantId) {
      const db = yield* transactions.executor
      const row = yield* query("get", () => selectGrants(db).where("id", "=", grantId).executeTakeFirst())
      return row === undefined ? Option.none() : Option.some(yield* toGrant(row))
    })

    const list: Service["list"] = Effect.fn("GrantStore.list")(function*(filter) {
      const db = yield* transactions.executor
      let builder = selectGrants(db)
      if (filter.deviceId !== undefined) builder = builder.where("device_id", "=", filter.deviceId)
      if (filter.regionId !== undefined) builder = builder.where("region_id", "=", filter.regionId)
      if (filter.states !== undefined) {
        if (filter.states.length === 0) return []
        builder = builder.where("state", "in", filter.states)
      }
      if (filter.revokeStuck !== undefined) builder = builder.where("revoke_stuck", "=", filter.revokeStuck)
      builder = builder.orderBy("created_at_ms", "desc").orderBy("sequence", "desc")
      if (filter.limit !== undefined) builder = builder.limit(Math.max(0, Math.floor(filter.limit)))
      const rows = yield* query("list", () => builder.execute())
      return yield* toGrants(rows)
    })

    const update: Service["update"] = Effect.fn("GrantStore.update")(function*(input) {
      const now = yield* nowSql
      return yield* locked(input.grantId, transactions.run("update", (trx) =>
        Effect.gen(function*() {
          const row = yield* lockGrant(trx, input.grantId, now)
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
          if (to !== undefined && !GrantModule.canTransition(current.state, to)) {
            return yield* new GrantStore.InvalidTransition({ grantId: input.grantId, from: current.state, to })
          }
          const revision = yield* bumpRegion(trx, current.regionId, 1)
          const { next, wipeSecret } = yield* patched(current, input.patch, revision)
          yield* writeGrant(trx, next, wipeSecret, yield* checkJobs(input.jobs(next)))
          return next
        })))
    })

    const claimExpired: Service["claimExpired"] = Effect.fn("GrantStore.claimExpired")(function*(input) {
      if (input.limit <= 0) return []
      const now = yield* nowSql
      const held = processLocks?.held() ?? []
      return yield* transactions.run("claimExpired", (trx) =>
        Effect.gen(function*() {
          const rows = yield* query("claim expired", () =>
            selectGrants(trx).select(now.as("store_now"))
              .where("state", "in", liveStates).where("expires_at_ms", "<=", now)
              .$if(held.length > 0, (builder) => builder.where("id", "not in", held))
              .orderBy("expires_at_ms").orderBy("sequence").limit(Math.floor(input.limit))
              .forUpdate().skipLocked().execute())
          if (rows.length === 0) return []
          const storeNow = Number(rows[0]?.store_now)
          const claimed = yield* toGrants(rows)
          // Lock regions in a fixed order so that concurrent claimers never deadlock.
          const byRegion = new Map<string, Array<Grant>>()
          for (const grant of claimed) byRegion.set(grant.regionId, [...(byRegion.get(grant.regionId) ?? []), grant])
          const updated: Array<Grant> = []
          for (const regionId of [...byRegion.keys()].sort()) {
            const grants = byRegion.get(regionId) ?? []
            const first = yield* bumpRegion(trx, regionId, grants.length)
            for (const [offset, grant] of grants.entries()) {
              const { jobs, patch } = input.plan(grant, storeNow)
              if (patch.state !== undefined && !GrantModule.canTransition(grant.state, patch.state)) {
                return yield* storeError("Unknown", `claimExpired plan refused: ${grant.state} -> ${patch.state}`)
              }
              const { next, wipeSecret } = yield* patched(grant, patch, first + offset)
              yield* writeGrant(trx, next, wipeSecret, yield* checkJobs(jobs))
              updated.push(next)
            }
          }
          return updated
        }))
    })

    const withLiveGrant: Service["withLiveGrant"] = (grantId, use) =>
      Effect.gen(function*() {
        const now = yield* nowSql
        const liveGrant = (trx: Kysely<Database>) =>
          Effect.gen(function*() {
            const row = yield* lockGrant(trx, grantId, now)
            if (row === undefined) return Option.none<Grant>()
            const grant = yield* toGrant(row)
            return GrantModule.isLive(grant, Number(row.store_now)) ? Option.some(grant) : Option.none<Grant>()
          })
        if (processLocks !== undefined) {
          return yield* processLocks.withLock(grantId, Effect.gen(function*() {
            const grant = yield* transactions.run("withLiveGrant", liveGrant)
            return Option.isNone(grant) ? Option.none() : Option.some(yield* use(grant.value))
          }))
        }
        return yield* transactions.run("withLiveGrant", (trx) =>
          Effect.gen(function*() {
            const grant = yield* liveGrant(trx)
            return Option.isNone(grant) ? Option.none() : Option.some(yield* transactions.ambient(trx, use(grant.value)))
          }))
      }).pipe(Effect.withSpan("GrantStore.withLiveGrant"))

    const regionSnapshot: Service["regionSnapshot"] = Effect.fn("GrantStore.regionSnapshot")(function*(regionId) {
      return yield* transactions.run("regionSnapshot", (trx) =>
        Effect.gen(function*() {
          const region = yield* query("read region", () =>
            q(trx).selectFrom("regions").select("revision").where("region_id", "=", regionId).executeTakeFirst())
          const rows = yield* query("region grants", () =>
            selectGrants(trx).where("region_id", "=", regionId).where("state", "<>", "revoked")
              .orderBy("created_at_ms", "desc").orderBy("sequence", "desc").execute())
          const revision = region === undefined ? 0 : Number(region.revision)
          if (!Number.isSafeInteger(revision)) return yield* storeError("Corrupt", "region revision is not an integer")
          return { revision, grants: yield* toGrants(rows) }
        }), { isolation: "repeatable read" })
    })

    const deviceGrants: Service["deviceGrants"] = Effect.fn("GrantStore.deviceGrants")(function*(deviceId) {
      const db = yield* transactions.executor
      const rows = yield* query("device grants", () =>
        selectGrants(db).where("device_id", "=", deviceId).where("state", "<>", "revoked")
          .orderBy("created_at_ms", "desc").orderBy("sequence", "desc").execute())
      return yield* toGrants(rows)
    })

    const heldPorts: Service["heldPorts"] = Effect.fn("GrantStore.heldPorts")(function*(regionId, cooldownMs) {
      const db = yield* transactions.executor
      const now = yield* nowSql
      const rows = yield* query("held ports", () =>
        q(db).selectFrom("grants").select("port").distinct().where("region_id", "=", regionId).where((where) =>
          where.or([
            where("state", "in", holdingStates),
            where.and([where("state", "=", "revoked"), where("revoked_at_ms", ">", sql<number>`${now} - ${Math.max(0, cooldownMs)}`)])
          ])
        ).orderBy("port").execute())
      return rows.map((row) => row.port)
    })

    const takeOutbox: Service["takeOutbox"] = Effect.fn("GrantStore.takeOutbox")(function*(input) {
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
            o.publications - 1 as publications`.execute(db))
      const sorted = rows.rows.toSorted((left, right) => Number(left["seq"]) - Number(right["seq"]))
      return yield* Effect.forEach(sorted, toOutboxEntry)
    })

    const markPublished: Service["markPublished"] = Effect.fn("GrantStore.markPublished")(function*(jobIds) {
      const db = yield* transactions.executor
      if (jobIds.length === 0) return
      const now = yield* nowSql
      yield* query("mark published", () =>
        q(db).updateTable("outbox").set({ published_at_ms: now, handed_at_ms: now }).where("job_id", "in", jobIds).execute())
    })

    const completeJobs: Service["completeJobs"] = Effect.fn("GrantStore.completeJobs")(function*(jobIds) {
      const db = yield* transactions.executor
      if (jobIds.length === 0) return
      yield* query("complete jobs", () => q(db).deleteFrom("outbox").where("job_id", "in", jobIds).execute())
    })

    const readDeviceSecret: Service["readDeviceSecret"] = Effect.fn("GrantStore.readDeviceSecret")(function*(grantId) {
      const db = yield* transactions.executor
      const row = yield* query("read device secret", () =>
        q(db).selectFrom("grants").select(["device_id", "device_secret"]).where("id", "=", grantId).executeTakeFirst())
      if (row === undefined || row.device_secret === null) return Option.none()
      const secret = yield* box.open(row.device_secret, aad({ id: grantId, deviceId: row.device_id })).pipe(
        Effect.mapError((error) => storeError("Corrupt", `device secret of ${grantId} does not open: ${error.message}`))
      )
      return Option.some(secret)
    })

    const wipeDeviceSecret: Service["wipeDeviceSecret"] = Effect.fn("GrantStore.wipeDeviceSecret")(function*(grantId) {
      const db = yield* transactions.executor
      yield* query("wipe device secret", () =>
        q(db).updateTable("grants").set({ device_secret: null, device_secret_key_id: null }).where("id", "=", grantId)
          .execute())
    })

    const nextDeviceSequence: Service["nextDeviceSequence"] = Effect.fn("GrantStore.nextDeviceSequence")(function*(deviceId) {
      const db = yield* transactions.executor
      const result = yield* query("next device sequence", () =>
        sql<{ sequence: number | string }>`insert into ${table("device_sequences")} (device_id, sequence) values (${deviceId}, 1)
          on conflict (device_id) do update set sequence = ${table("device_sequences")}.sequence + 1
          returning sequence`.execute(db))
      const sequence = Number(result.rows[0]?.sequence)
      if (!Number.isSafeInteger(sequence)) return yield* storeError("Corrupt", "device sequence is not an integer")
      return sequence
    })

    const advanceRegionRevision: Service["advanceRegionRevision"] = Effect.fn("GrantStore.advanceRegionRevision")(
      function*(regionId, atLeast) {
        if (!Number.isSafeInteger(atLeast) || atLeast < 0) return
        const db = yield* transactions.executor
        yield* query("advance region revision", () =>
          sql`insert into ${table("regions")} (region_id, revision) values (${regionId}, ${atLeast})
            on conflict (region_id) do update set revision = greatest(${table("regions")}.revision, excluded.revision)`
            .execute(db))
      }
    )

    const stats: Service["stats"] = Effect.gen(function*() {
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
            (select greatest(0, ${now} - min(created_at_ms)) from ${table("outbox")}) as oldest`.execute(db))
      const row = result.rows[0] ?? {}
      const count = (key: string) => Number(row[key] ?? 0)
      return {
        grantsByState: { pending: count("pending"), active: count("active"), revoking: count("revoking"), revoked: count("revoked") },
        revokeStuck: count("stuck"),
        outboxPending: count("outbox"),
        oldestOutboxAgeMs: count("oldest")
      }
    }).pipe(Effect.withSpan("GrantStore.stats"))

    return GrantStore.GrantStore.of({
      insert,
      get,
      list,
      update,
      claimExpired,
      withLiveGrant,
      regionSnapshot,
      advanceRegionRevision,
      deviceGrants,
      heldPorts,
      takeOutbox,
      markPublished,
      completeJobs,
      readDeviceSecret,
      wipeDeviceSecret,
      nextDeviceSequence,
      stats
    })
  })

/**
 * A layer over an existing kysely instance (not closed with the layer).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromKysely = (
  db: Kysely<Database>,
  options: StoreOptions = {}
): Layer.Layer<GrantStore.GrantStore | PgDatabase, MigrationError, SecretBox.SecretBox> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const schema = yield* validateSchemaName(options.schema ?? defaultSchema)
      if (options.migrate === true) yield* migrate(db, { schema })
      const store = yield* make(db, options)
      return Context.make(GrantStore.GrantStore, store).pipe(Context.add(PgDatabase, PgDatabase.of({ db, schema })))
    })
  )

/**
 * A kysely instance over a `pg.Pool` (the pool stays the caller's).
 *
 * @category constructors
 * @since 0.1.0
 */
export const kyselyFromPool = (pool: pg.Pool): Kysely<Database> => new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })

/**
 * Makes a pool safe across server restarts: `pg` emits `error` on idle pooled clients and on
 * clients checked out by a transaction when the connection drops, and an `error` event
 * without a listener crashes the process. The listeners only swallow the event; the query
 * in flight still fails (and becomes `StoreError` `Unavailable`), and `pg` drops the client.
 *
 * @category constructors
 * @since 0.1.0
 */
export const guardPool = (pool: pg.Pool): pg.Pool => {
  const ignore = () => {
    // The failing query reports the error; the pool discards the broken client.
  }
  pool.on("error", ignore)
  pool.on("connect", (client) => {
    client.on("error", ignore)
  })
  return pool
}

/**
 * A layer over an existing `pg.Pool` (not closed with the layer). It adds `guardPool`'s
 * `error` listeners to the pool.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromPool = (
  pool: pg.Pool,
  options: StoreOptions = {}
): Layer.Layer<GrantStore.GrantStore | PgDatabase, MigrationError, SecretBox.SecretBox> =>
  layerFromKysely(kyselyFromPool(guardPool(pool)), options)

/**
 * A `pg.Pool` from connection options, guarded by `guardPool` so that a server restart
 * never crashes the process (the queries in flight report `Unavailable`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makePool = (options: ConnectionOptions): pg.Pool => {
  const pool = new pg.Pool({
    connectionString: Redacted.value(options.url),
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000
  })
  return guardPool(pool)
}

/**
 * The primary layer: owns a `pg.Pool` built from `options` and closes it with the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: ConnectionOptions
): Layer.Layer<GrantStore.GrantStore | PgDatabase, MigrationError, SecretBox.SecretBox> =>
  Layer.unwrap(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => kyselyFromPool(makePool(options))),
        (db) => Effect.promise(() => db.destroy()).pipe(Effect.ignore)
      ),
      (db) => layerFromKysely(db, options)
    )
  )

/**
 * The primary layer configured from `Config`: `TA_DATABASE_URL` (Redacted),
 * `TA_DATABASE_SCHEMA` (default `transient_access`), `TA_DATABASE_POOL_SIZE` (10),
 * `TA_DATABASE_STATEMENT_TIMEOUT_MS` (10 000), `TA_DATABASE_CLOCK` (`database`),
 * `TA_DATABASE_MIGRATE` (false).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  GrantStore.GrantStore | PgDatabase,
  MigrationError | Config.ConfigError,
  SecretBox.SecretBox
> = Layer.unwrap(
  Effect.map(
    Config.all({
      url: Config.Redacted("TA_DATABASE_URL"),
      schema: Config.String("TA_DATABASE_SCHEMA").pipe(Config.withDefault(defaultSchema)),
      poolSize: Config.Int("TA_DATABASE_POOL_SIZE").pipe(Config.withDefault(10)),
      statementTimeoutMs: Config.Int("TA_DATABASE_STATEMENT_TIMEOUT_MS").pipe(Config.withDefault(10_000)),
      clock: Config.Literals(["database", "effect"], "TA_DATABASE_CLOCK").pipe(Config.withDefault("database" as const)),
      migrate: Config.Boolean("TA_DATABASE_MIGRATE").pipe(Config.withDefault(false))
    }),
    layer
  )
)

/**
 * Deletes idempotency keys older than the 24-hour retention (store-clock ms `now`, default
 * the database's). Keys past retention are already ignored; this only reclaims space. Run
 * it from a periodic job. Returns the number of keys deleted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const pruneIdempotencyKeys = (now?: number): Effect.Effect<number, GrantStore.StoreError, PgDatabase> =>
  Effect.gen(function*() {
    const { db, schema } = yield* PgDatabase
    const nowSql = now === undefined ? databaseNow : sql<number>`${now}::bigint`
    const result = yield* query("prune idempotency keys", () =>
      db.withSchema(schema).deleteFrom("idempotency_keys")
        .where("created_at_ms", "<=", sql<number>`${nowSql} - ${idempotencyRetentionMs}`).executeTakeFirst())
    return Number(result.numDeletedRows)
  })
