/**
 * The audit log port: who did what to which grant, and what the system did on its own
 * (expiry, compensation, reconciler corrections, stuck revokes, dead letters).
 *
 * Audit events never contain a password.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { Timestamp } from "./Grant.ts"

/**
 * Every action the SDK audits (a closed union: a new kind of event is added here).
 *
 * - `grant.create` — a grant was committed (`pending`), with its jobs;
 * - `grant.active` — both artifacts were confirmed (`pending → active`);
 * - `grant.revoke` — revoke requested (`→ revoking`; reason `manual`, `expired` or `failed`);
 * - `grant.revoked` — both artifacts were confirmed gone (`revoking → revoked`);
 * - `grant.force-revoke` — an operator ended a revoke without confirmation (`revoking → revoked`);
 * - `grant.provision-failed` — a create could not succeed; the grant is revoked as `failed`;
 * - `grant.revoke-stuck` — a removal kept failing; it is retried forever and flagged;
 * - `reconciler.*` — the reconciler corrected a target (an orphan closed, a lost path re-opened);
 * - `device.bootstrap` — a pull-mode device was (re-)bootstrapped and its token rotated;
 * - `device.checkin-refused` — a check-in claimed a sequence never issued (forged): refused;
 * - `device.checkin-stale` — a check-in older than the applied sequence (replayed or
 *   delayed): not taken as evidence;
 * - `queue.config-warning` — a queue backend found a setting that can lose jobs (Redis eviction);
 * - `queue.dead-letter` — a queue backend gave up on a job and moved it aside.
 *
 * @category schemas
 * @since 0.2.0
 */
export const AuditAction = Schema.Literals([
  "grant.create",
  "grant.active",
  "grant.revoke",
  "grant.revoked",
  "grant.force-revoke",
  "grant.provision-failed",
  "grant.revoke-stuck",
  "reconciler.path-closed",
  "reconciler.path-reopened",
  "reconciler.user-removed",
  "reconciler.forward-closed",
  "device.bootstrap",
  "device.checkin-refused",
  "device.checkin-stale",
  "queue.config-warning",
  "queue.dead-letter"
])
/** @category models @since 0.2.0 */
export type AuditAction = typeof AuditAction.Type

/**
 * One audit event. `actor` is `system` for actions of the workers.
 *
 * @category schemas
 * @since 0.1.0
 */
export const AuditEvent = Schema.Struct({
  at: Timestamp,
  actor: Schema.String,
  action: AuditAction,
  grantId: Schema.NullOr(Schema.String),
  details: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Number, Schema.Boolean, Schema.Null]))
})
/** @category models @since 0.1.0 */
export type AuditEvent = typeof AuditEvent.Type

/**
 * An audit event with its place in the log's hash chain: `hash` is the SHA-256 (hex) of
 * the previous record's hash, a newline and the event's canonical JSON ({@link canonical}),
 * so editing, removing or reordering any record breaks every link after it.
 *
 * @category models
 * @since 0.2.0
 */
export interface ChainedEvent {
  /** 1 for the oldest record kept. */
  readonly position: number
  readonly event: AuditEvent
  readonly previousHash: string
  readonly hash: string
}

/**
 * What `verify` found: how many records were checked, how many older records predate the
 * chain (written before it existed, not checkable), and the first broken link, if any.
 *
 * @category models
 * @since 0.2.0
 */
export interface VerifyReport {
  readonly checked: number
  readonly unchained: number
  readonly broken: { readonly position: number; readonly reason: string } | null
}

/**
 * The previous hash of the first record of a log.
 *
 * @category constructors
 * @since 0.2.0
 */
export const genesisHash = "0".repeat(64)

const sortedJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>).filter(([, inner]) => inner !== undefined)
  entries.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${sortedJson(inner)}`).join(",")}}`
}

/**
 * The canonical JSON of an event (keys sorted at every level): what its hash covers.
 *
 * @category utils
 * @since 0.2.0
 */
export const canonical = (event: AuditEvent): string =>
  sortedJson({ at: event.at, actor: event.actor, action: event.action, grantId: event.grantId, details: event.details })

/**
 * The hash of `event` chained to `previousHash`.
 *
 * @category utils
 * @since 0.2.0
 */
export const chainHash = (previousHash: string, event: AuditEvent): string =>
  createHash("sha256")
    .update(`${previousHash}\n${canonical(event)}`, "utf8")
    .digest("hex")

/**
 * Verifies a chain, oldest first (a store's `exportChain`, or an export an auditor holds):
 * each record's `previousHash` must be the hash before it and its `hash` must cover its
 * event. Pure: an auditor can run it on an export without the SDK's store.
 *
 * @category utils
 * @since 0.2.0
 */
export const verifyChain = (entries: ReadonlyArray<ChainedEvent>, unchained = 0): VerifyReport => {
  let previous = entries[0]?.previousHash
  for (const [index, entry] of entries.entries()) {
    if (entry.previousHash !== previous) {
      return { checked: index, unchained, broken: { position: entry.position, reason: "does not follow the record before it" } }
    }
    if (chainHash(entry.previousHash, entry.event) !== entry.hash) {
      return { checked: index, unchained, broken: { position: entry.position, reason: "its content does not match its hash" } }
    }
    previous = entry.hash
  }
  return { checked: entries.length, unchained, broken: null }
}

/**
 * The audit log port. Records form a hash chain per store (`exportChain`, `verify`).
 *
 * @category services
 * @since 0.1.0
 */
export class AuditLog extends Context.Service<
  AuditLog,
  {
    readonly record: (event: AuditEvent) => Effect.Effect<void>
    /** Newest first. */
    readonly list: (filter: { readonly grantId?: string; readonly limit?: number }) => Effect.Effect<ReadonlyArray<AuditEvent>>
    /** Every record kept, oldest first, with its chain hashes (an export to verify independently). */
    readonly exportChain: Effect.Effect<ReadonlyArray<ChainedEvent>>
    /** Verifies the chain of every record kept; reports the first broken link. */
    readonly verify: Effect.Effect<VerifyReport>
  }
>()("@transient-access/core/AuditLog") {}

/**
 * An in-memory audit log keeping the most recent `capacity` events.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory = (capacity = 10_000): Layer.Layer<AuditLog> =>
  Layer.effect(
    AuditLog,
    Effect.gen(function* () {
      // the chain of the records kept; trimming keeps the link of the oldest kept record
      const chain = yield* Ref.make<ReadonlyArray<ChainedEvent>>([])
      const exportChain = Ref.get(chain)
      return AuditLog.of({
        record: (event) =>
          Ref.update(chain, (all) => {
            const last = all.at(-1)
            const previousHash = last?.hash ?? genesisHash
            const entry: ChainedEvent = { position: (last?.position ?? 0) + 1, event, previousHash, hash: chainHash(previousHash, event) }
            return all.length >= capacity ? [...all.slice(1), entry] : [...all, entry]
          }),
        list: (filter) =>
          Ref.get(chain).pipe(
            Effect.map((all) =>
              all
                .map((entry) => entry.event)
                .filter((event) => filter.grantId === undefined || event.grantId === filter.grantId)
                .toReversed()
                .slice(0, filter.limit ?? 100)
            )
          ),
        exportChain,
        verify: Effect.map(exportChain, (entries) => verifyChain(entries))
      })
    })
  )
