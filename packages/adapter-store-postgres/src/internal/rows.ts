/**
 * Internal: the database tables as kysely sees them, and the Schema decoding of their rows
 * into the core's domain values (not exported from any entry). Every row read from the database passes through here; a row that
 * does not decode is reported as `StoreError` with reason `Corrupt`.
 *
 * Times are stored as epoch milliseconds in `bigint` columns (`*_ms`), exactly as the core
 * models them; `int8` values arrive as strings from `pg` and as numbers from PGlite, and
 * both decode.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import type { Generated } from "kysely"
import { Grant as GrantModule, GrantStore, Job as JobModule } from "@transient-access/core"

type Grant = GrantModule.Grant
type Job = JobModule.Job

/**
 * A `grants` row.
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantsTable {
  readonly id: string
  /** Insertion order (identity): the tie-breaker of "newest first". */
  readonly sequence: Generated<number | string>
  readonly kind: string
  readonly device_id: string
  readonly region_id: string
  readonly access_type: string
  readonly permission: string
  readonly source: string
  readonly actor: string
  readonly created_at_ms: number | string
  readonly expires_at_ms: number | string
  readonly username: string
  readonly endpoint_host: string
  readonly port: number
  readonly target_address: string
  readonly target_port: number
  readonly forward_address: string | null
  readonly forward_port: number | null
  readonly state: string
  readonly revoke_reason: string | null
  readonly revoke_requested_at_ms: number | string | null
  readonly revoked_at_ms: number | string | null
  readonly nat_open: boolean
  readonly device_ready: boolean
  readonly nat_gone: boolean
  readonly device_gone: boolean
  readonly revoke_attempts: number
  readonly revoke_stuck: boolean
  readonly provision_attempts: number
  readonly generation: number | string
  readonly revision: number | string
  readonly label: string | null
  /** The sealed device copy of the password (`v1.<kid>.<iv>.<ct>.<tag>`), NULL once wiped. */
  readonly device_secret: string | null
  /** The key id the device secret is sealed with (for rotation queries), NULL once wiped. */
  readonly device_secret_key_id: string | null
}

/**
 * An `outbox` row: one job waiting to be published or completed.
 *
 * @category models
 * @since 0.1.0
 */
export interface OutboxTable {
  readonly seq: Generated<number | string>
  readonly job_id: string
  readonly grant_id: string
  readonly type: string
  readonly target: string
  readonly generation: number | string
  readonly created_at_ms: number | string
  readonly publications: Generated<number>
  readonly handed_at_ms: number | string | null
  readonly published_at_ms: number | string | null
}

/**
 * A `regions` row: the per-region revision (the regional fence).
 *
 * @category models
 * @since 0.1.0
 */
export interface RegionsTable {
  readonly region_id: string
  readonly revision: number | string
}

/**
 * A `device_sequences` row: the per-device command sequence (the pull-mode fence).
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceSequencesTable {
  readonly device_id: string
  readonly sequence: number | string
}

/**
 * An `idempotency_keys` row.
 *
 * @category models
 * @since 0.1.0
 */
export interface IdempotencyKeysTable {
  readonly actor: string
  readonly key: string
  readonly fingerprint: string
  readonly grant_id: string
  readonly created_at_ms: number | string
}

/**
 * An `audit_events` row.
 *
 * @category models
 * @since 0.1.0
 */
export interface AuditEventsTable {
  readonly id: Generated<number | string>
  readonly at_ms: number | string
  readonly actor: string
  readonly action: string
  readonly grant_id: string | null
  readonly details: unknown
  /** The chain (migration 0004): null for records written before it. */
  readonly previous_hash: string | null
  readonly hash: string | null
}

/**
 * The tables of one store schema.
 *
 * @category models
 * @since 0.1.0
 */
export interface Database {
  readonly grants: GrantsTable
  readonly outbox: OutboxTable
  readonly regions: RegionsTable
  readonly device_sequences: DeviceSequencesTable
  readonly idempotency_keys: IdempotencyKeysTable
  readonly audit_events: AuditEventsTable
}

/**
 * An integer column that may arrive as a number, a decimal string (`pg` `int8`) or a bigint,
 * decoded to a safe integer.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DbInt = Schema.Union([Schema.Number, Schema.String, Schema.BigInt]).pipe(
  Schema.decodeTo(
    Schema.Int.check(Schema.makeFilter((value: number) => Number.isSafeInteger(value) || "expected a safe integer")),
    SchemaTransformation.transform({
      decode: (value: number | string | bigint): number => (typeof value === "string" && value.trim() === "" ? Number.NaN : Number(value)),
      encode: (value: number): number | string | bigint => value
    })
  )
)

const NullableDbInt = Schema.NullOr(DbInt)

/**
 * The raw shape of a `grants` row as read (secret columns are never selected with it).
 *
 * @category schemas
 * @since 0.1.0
 */
export const GrantRow = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  device_id: Schema.String,
  region_id: Schema.String,
  access_type: Schema.String,
  permission: Schema.String,
  source: Schema.String,
  actor: Schema.String,
  created_at_ms: DbInt,
  expires_at_ms: DbInt,
  username: Schema.String,
  endpoint_host: Schema.String,
  port: DbInt,
  target_address: Schema.String,
  target_port: DbInt,
  forward_address: Schema.NullOr(Schema.String),
  forward_port: NullableDbInt,
  state: Schema.String,
  revoke_reason: Schema.NullOr(Schema.String),
  revoke_requested_at_ms: NullableDbInt,
  revoked_at_ms: NullableDbInt,
  nat_open: Schema.Boolean,
  device_ready: Schema.Boolean,
  nat_gone: Schema.Boolean,
  device_gone: Schema.Boolean,
  revoke_attempts: DbInt,
  revoke_stuck: Schema.Boolean,
  provision_attempts: DbInt,
  generation: DbInt,
  revision: DbInt,
  label: Schema.NullOr(Schema.String)
})

/**
 * The columns of `grants` that make up a grant (never the secret columns).
 *
 * @category constructors
 * @since 0.1.0
 */
export const grantColumns = [
  "id",
  "kind",
  "device_id",
  "region_id",
  "access_type",
  "permission",
  "source",
  "actor",
  "created_at_ms",
  "expires_at_ms",
  "username",
  "endpoint_host",
  "port",
  "target_address",
  "target_port",
  "forward_address",
  "forward_port",
  "state",
  "revoke_reason",
  "revoke_requested_at_ms",
  "revoked_at_ms",
  "nat_open",
  "device_ready",
  "nat_gone",
  "device_gone",
  "revoke_attempts",
  "revoke_stuck",
  "provision_attempts",
  "generation",
  "revision",
  "label"
] as const

/**
 * The raw shape of an `outbox` row as read.
 *
 * @category schemas
 * @since 0.1.0
 */
export const OutboxRow = Schema.Struct({
  job_id: Schema.String,
  grant_id: Schema.String,
  type: Schema.String,
  target: Schema.String,
  generation: DbInt,
  created_at_ms: DbInt,
  publications: DbInt
})

const decodeGrantRow = Schema.decodeUnknownEffect(GrantRow)
const decodeGrant = Schema.decodeUnknownEffect(GrantModule.Grant)
const decodeOutboxRow = Schema.decodeUnknownEffect(OutboxRow)
const decodeJob = Schema.decodeUnknownEffect(JobModule.Job)

const corrupt = (what: string) => (error: Schema.SchemaError) =>
  new GrantStore.StoreError({ reason: "Corrupt", message: `${what} row failed to decode: ${error.message}` })

/**
 * Decodes a `grants` row into a `Grant` (a row that does not decode is `Corrupt`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const toGrant = (row: unknown): Effect.Effect<Grant, GrantStore.StoreError> =>
  decodeGrantRow(row).pipe(
    Effect.flatMap((decoded) =>
      decodeGrant({
        id: decoded.id,
        kind: decoded.kind,
        deviceId: decoded.device_id,
        regionId: decoded.region_id,
        accessType: decoded.access_type,
        permission: decoded.permission,
        source: decoded.source,
        actor: decoded.actor,
        createdAt: decoded.created_at_ms,
        expiresAt: decoded.expires_at_ms,
        username: decoded.username,
        endpoint: { host: decoded.endpoint_host, port: decoded.port },
        target: { address: decoded.target_address, port: decoded.target_port },
        forward:
          decoded.forward_address === null || decoded.forward_port === null
            ? null
            : { address: decoded.forward_address, port: decoded.forward_port },
        state: decoded.state,
        revokeReason: decoded.revoke_reason,
        revokeRequestedAt: decoded.revoke_requested_at_ms,
        revokedAt: decoded.revoked_at_ms,
        progress: {
          natOpen: decoded.nat_open,
          deviceReady: decoded.device_ready,
          natGone: decoded.nat_gone,
          deviceGone: decoded.device_gone,
          revokeAttempts: decoded.revoke_attempts,
          revokeStuck: decoded.revoke_stuck,
          provisionAttempts: decoded.provision_attempts
        },
        generation: decoded.generation,
        revision: decoded.revision,
        label: decoded.label
      })
    ),
    Effect.mapError(corrupt("grants"))
  )

/**
 * Decodes many `grants` rows.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toGrants = (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Grant>, GrantStore.StoreError> =>
  Effect.forEach(rows, toGrant)

/**
 * The columns of a grant as written to `grants` (secret columns excluded).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromGrant = (grant: Grant) => ({
  ...mutableColumns(grant),
  id: grant.id,
  kind: grant.kind,
  device_id: grant.deviceId,
  region_id: grant.regionId,
  access_type: grant.accessType,
  permission: grant.permission,
  source: grant.source,
  actor: grant.actor,
  created_at_ms: grant.createdAt,
  expires_at_ms: grant.expiresAt,
  username: grant.username,
  endpoint_host: grant.endpoint.host,
  port: grant.endpoint.port,
  target_address: grant.target.address,
  target_port: grant.target.port,
  forward_address: grant.forward?.address ?? null,
  forward_port: grant.forward?.port ?? null,
  label: grant.label
})

/**
 * The columns of a grant that a saga step may change (what an update writes).
 *
 * @category constructors
 * @since 0.1.0
 */
export const mutableColumns = (grant: Grant) => ({
  state: grant.state,
  revoke_reason: grant.revokeReason,
  revoke_requested_at_ms: grant.revokeRequestedAt,
  revoked_at_ms: grant.revokedAt,
  expires_at_ms: grant.expiresAt,
  nat_open: grant.progress.natOpen,
  device_ready: grant.progress.deviceReady,
  nat_gone: grant.progress.natGone,
  device_gone: grant.progress.deviceGone,
  revoke_attempts: grant.progress.revokeAttempts,
  revoke_stuck: grant.progress.revokeStuck,
  provision_attempts: grant.progress.provisionAttempts,
  generation: grant.generation,
  revision: grant.revision
})

/**
 * The columns of a job as written to `outbox`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromJob = (job: Job) => ({
  job_id: job.id,
  grant_id: job.grantId,
  type: job.type,
  target: job.target,
  generation: job.generation,
  created_at_ms: job.createdAt
})

/**
 * Decodes an `outbox` row into an outbox entry (a row that does not decode is `Corrupt`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const toOutboxEntry = (row: unknown): Effect.Effect<GrantStore.OutboxEntry, GrantStore.StoreError> =>
  decodeOutboxRow(row).pipe(
    Effect.flatMap((decoded) =>
      decodeJob({
        id: decoded.job_id,
        type: decoded.type,
        grantId: decoded.grant_id,
        generation: decoded.generation,
        target: decoded.target,
        createdAt: decoded.created_at_ms
      }).pipe(Effect.map((job): GrantStore.OutboxEntry => ({ job, publications: decoded.publications })))
    ),
    Effect.mapError(corrupt("outbox"))
  )
