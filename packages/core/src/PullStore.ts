/**
 * The pull store port: the durable state of pull mode, shared by every API and worker
 * process, so a check-in served by one process confirms a command queued by another and a
 * restart loses no device token and no pending command.
 *
 * Per device it holds:
 * - the **token hash** (SHA-256, hex) of the device's bearer token — set or rotated by
 *   `setTokenHash`, never the token itself — and, after a rotation that keeps it, the
 *   **previous** one, valid until the new token is first used (`retirePreviousTokenHash`),
 *   so re-bootstrapping a device never strands the grants of the router still running;
 * - the **pending commands**, each with its sequence number (drawn from
 *   `GrantStore.nextDeviceSequence`, the pull-mode fence) as a schema-checked, JSON record
 *   that carries grant ids, user names, groups, expiry and addresses — **never a password**
 *   (the device's copy stays sealed in the `GrantStore` and is read when the command is
 *   rendered);
 * - **applied up to N**: the highest sequence a device reported applied; commands at or below
 *   it are dropped and never stored again (the device would ignore them anyway);
 * - **issued up to M**: the highest sequence ever queued for the device — a device can only
 *   have applied what was issued, so a report above it is forged and refused;
 * - the **last check-in** (its sequence, receive time and the report as JSON) and a counter
 *   of check-ins, so a waiting operation recognises a check-in newer than the one it saw.
 *
 * Semantics the contract suite pins (`PullStoreSuite` in `@transient-access/core/testing`):
 * - every value is validated against its schema before it is written; a value that fails is
 *   refused with `StoreError` `Corrupt` and nothing is written; fields outside the schema
 *   (e.g. a stray `password`) are never stored;
 * - `enqueue` is idempotent per (device, sequence): the first command with a sequence wins,
 *   and a command at or below the applied sequence is dropped (both return `false`);
 * - `pending` is ascending by sequence and holds only commands above the applied sequence;
 * - `claimDelivery` succeeds once per pending (device, sequence), under concurrency too;
 * - `recordCheckIn` is atomic and has three outcomes. `Unissued`: the reported sequence is
 *   above every sequence issued — nothing changes. `Stale`: it is below the applied
 *   sequence (a replayed or delayed check-in) — nothing changes, and the pending commands
 *   are returned so a device that lost its state catches up. `Recorded`: the applied
 *   sequence is raised (never lowered), the commands at or below it are dropped, the
 *   check-in becomes the last one and the counter is bumped (1, 2, …, one per recorded
 *   check-in even under concurrency). So the last check-in is always the freshest evidence:
 *   its sequence never goes down;
 * - devices are independent.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { DeviceForwardSpec } from "./DeviceGateway.ts"
import { Permission, Timestamp } from "./Grant.ts"
import { StoreError } from "./GrantStore.ts"
import { GrantId } from "./Ids.ts"
import type { DeviceId } from "./Ids.ts"

/**
 * A command sequence number (≥ 1).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Sequence = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * A device token hash: SHA-256 in lower-case hex.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TokenHash = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))

const Name = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256))

/**
 * Create a temporary user (disabled). The password is not part of it: it is read from
 * `GrantStore.readDeviceSecret(grantId)` when the command is rendered.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CreateUser = Schema.TaggedStruct("CreateUser", {
  grantId: GrantId,
  username: Name,
  permission: Permission,
  /** The device-side group for the permission. */
  group: Name,
  allowedAddress: Name,
  expiresAt: Timestamp
})

/**
 * Enable a user by name.
 *
 * @category schemas
 * @since 0.1.0
 */
export const EnableUser = Schema.TaggedStruct("EnableUser", { username: Name })

/**
 * Remove a user (and its device-side expiry entry) by name.
 *
 * @category schemas
 * @since 0.1.0
 */
export const RemoveUser = Schema.TaggedStruct("RemoveUser", { username: Name })

/**
 * Open a transient forward, disabled; `dstAddress` is the device's tunnel address.
 *
 * @category schemas
 * @since 0.1.0
 */
export const OpenForward = Schema.TaggedStruct("OpenForward", { forward: DeviceForwardSpec, dstAddress: Name })

/**
 * Enable the forward of a grant (found by its `ta:<grant>` comment).
 *
 * @category schemas
 * @since 0.2.0
 */
export const EnableForward = Schema.TaggedStruct("EnableForward", { grantId: GrantId })

/**
 * Close the forward of a grant.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CloseForward = Schema.TaggedStruct("CloseForward", { grantId: GrantId })

/**
 * Ask the device for a fresh report; changes nothing on it. Queued under a new sequence
 * when an operation needs evidence newer than anything already reported (an inventory).
 *
 * @category schemas
 * @since 0.2.0
 */
export const Probe = Schema.TaggedStruct("Probe", {})

/**
 * A queued device command (no secret in it).
 *
 * @category schemas
 * @since 0.1.0
 */
export const PullCommand = Schema.Union([CreateUser, EnableUser, RemoveUser, OpenForward, EnableForward, CloseForward, Probe])
/** @category models @since 0.1.0 */
export type PullCommand = typeof PullCommand.Type

/**
 * A command with its sequence number.
 *
 * @category schemas
 * @since 0.1.0
 */
export const PendingCommand = Schema.Struct({ sequence: Sequence, command: PullCommand })
/** @category models @since 0.1.0 */
export type PendingCommand = typeof PendingCommand.Type

/**
 * A check-in as it is recorded: the sequence the device reported applied, when it was
 * received (epoch ms), and the device's report (JSON; its shape belongs to the adapter).
 *
 * @category schemas
 * @since 0.1.0
 */
export const CheckIn = Schema.Struct({
  sequence: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  receivedAt: Timestamp,
  report: Schema.Json
})
/** @category models @since 0.1.0 */
export type CheckIn = typeof CheckIn.Type

/**
 * The last check-in of a device and its number (1 for the first).
 *
 * @category schemas
 * @since 0.1.0
 */
export const RecordedCheckIn = Schema.Struct({ ...CheckIn.fields, count: Sequence })
/** @category models @since 0.1.0 */
export type RecordedCheckIn = typeof RecordedCheckIn.Type

/**
 * What `recordCheckIn` did with a check-in: `Recorded` (fresh evidence), `Stale` (below the
 * applied sequence: replayed or delayed, not recorded) or `Unissued` (above every issued
 * sequence: forged, not recorded).
 *
 * @category models
 * @since 0.2.0
 */
export type CheckInOutcome = "Recorded" | "Stale" | "Unissued"

/**
 * What `recordCheckIn` returns: what it did, the number of the last recorded check-in and
 * the commands still pending.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckInResult {
  readonly outcome: CheckInOutcome
  readonly count: number
  readonly pending: ReadonlyArray<PendingCommand>
}

/**
 * The pull store port.
 *
 * @category services
 * @since 0.1.0
 */
export class PullStore extends Context.Service<
  PullStore,
  {
    /**
     * Sets or rotates the device's token hash. With `keepPrevious` the replaced hash stays
     * valid as the previous one (until `retirePreviousTokenHash`); without it (a leaked
     * token) the old token stops working at once and any earlier previous one is dropped.
     */
    readonly setTokenHash: (
      deviceId: DeviceId,
      tokenHash: string,
      options?: { readonly keepPrevious?: boolean }
    ) => Effect.Effect<void, StoreError>
    /** The device's token hash, if it was registered. */
    readonly tokenHash: (deviceId: DeviceId) => Effect.Effect<Option.Option<string>, StoreError>
    /** The hash a rotation kept valid, until the new token is first used. */
    readonly previousTokenHash: (deviceId: DeviceId) => Effect.Effect<Option.Option<string>, StoreError>
    /** Drops the previous token hash (the new token was used): the old token stops working. */
    readonly retirePreviousTokenHash: (deviceId: DeviceId) => Effect.Effect<void, StoreError>
    /**
     * Queues a command. `false` when it was dropped: its sequence is at or below the applied
     * one, or a command with that sequence is already queued.
     */
    readonly enqueue: (deviceId: DeviceId, entry: PendingCommand) => Effect.Effect<boolean, StoreError>
    /** Commands above the applied sequence, ascending. */
    readonly pending: (deviceId: DeviceId) => Effect.Effect<ReadonlyArray<PendingCommand>, StoreError>
    /** The highest sequence the device reported applied (0 before any). */
    readonly appliedSequence: (deviceId: DeviceId) => Effect.Effect<number, StoreError>
    /**
     * Claims the one delivery of a queued command's secret (a create's password): `true` the
     * first time for a pending (device, sequence), `false` afterwards or when it is not
     * pending — so a replayed check-in never hands the password out again.
     */
    readonly claimDelivery: (deviceId: DeviceId, sequence: number) => Effect.Effect<boolean, StoreError>
    /**
     * Records a check-in atomically: judges it (`Unissued`, `Stale`, `Recorded`) and, when
     * it is fresh, raises the applied sequence, drops the commands at or below it, keeps it
     * as the last check-in and bumps the counter.
     */
    readonly recordCheckIn: (deviceId: DeviceId, checkIn: CheckIn) => Effect.Effect<CheckInResult, StoreError>
    /** The last check-in and its number, if the device ever checked in. */
    readonly lastCheckIn: (deviceId: DeviceId) => Effect.Effect<Option.Option<RecordedCheckIn>, StoreError>
  }
>()("@transient-access/core/PullStore") {}

const corrupt = (what: string) => (error: Schema.SchemaError) =>
  new StoreError({ reason: "Corrupt", message: `invalid ${what}: ${error.message}` })

/**
 * Validates a command before it is written (`Corrupt` otherwise); the result holds only the
 * schema's fields, in their JSON form.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validateCommand = (entry: unknown): Effect.Effect<PendingCommand, StoreError> =>
  Schema.decodeUnknownEffect(PendingCommand)(entry).pipe(Effect.mapError(corrupt("pull command")))

/**
 * Validates a check-in before it is written (`Corrupt` otherwise).
 *
 * @category constructors
 * @since 0.1.0
 */
export const validateCheckIn = (checkIn: unknown): Effect.Effect<CheckIn, StoreError> =>
  Schema.decodeUnknownEffect(CheckIn)(checkIn).pipe(Effect.mapError(corrupt("check-in")))

/**
 * Validates a token hash before it is written (`Corrupt` otherwise).
 *
 * @category constructors
 * @since 0.1.0
 */
export const validateTokenHash = (tokenHash: unknown): Effect.Effect<string, StoreError> =>
  Schema.decodeUnknownEffect(TokenHash)(tokenHash).pipe(Effect.mapError(corrupt("token hash")))

/**
 * Decodes a command read back from a backend (`Corrupt` when it does not match).
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeStoredCommand = validateCommand

/**
 * Decodes a recorded check-in read back from a backend (`Corrupt` when it does not match).
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeRecordedCheckIn = (value: unknown): Effect.Effect<RecordedCheckIn, StoreError> =>
  Schema.decodeUnknownEffect(RecordedCheckIn)(value).pipe(Effect.mapError(corrupt("stored check-in")))
