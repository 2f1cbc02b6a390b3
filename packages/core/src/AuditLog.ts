/**
 * The audit log port: who did what to which grant, and what the system did on its own
 * (expiry, compensation, reconciler corrections, stuck revokes, dead letters).
 *
 * Audit events never contain a password.
 *
 * @since 0.1.0
 */
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
 * The audit log port.
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
      const events = yield* Ref.make<ReadonlyArray<AuditEvent>>([])
      return AuditLog.of({
        record: (event) => Ref.update(events, (all) => (all.length >= capacity ? [...all.slice(1), event] : [...all, event])),
        list: (filter) =>
          Ref.get(events).pipe(
            Effect.map((all) =>
              all
                .filter((event) => filter.grantId === undefined || event.grantId === filter.grantId)
                .toReversed()
                .slice(0, filter.limit ?? 100)
            )
          )
      })
    })
  )
