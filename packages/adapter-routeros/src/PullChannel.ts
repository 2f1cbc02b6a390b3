/**
 * Pull mode: devices that cannot be reached check in over HTTPS and receive their pending
 * commands as a RouterOS script.
 *
 * `PullChannel` is what an HTTP server mounts:
 * - `registerDevice(deviceId, { revokePrevious? })` → the device's bearer token (only its
 *   SHA-256 hash is kept, in the `PullStore`; give the token to `bootstrap` once). A rotation
 *   keeps the previous token valid until the new one is first used, so the router still
 *   running on it keeps receiving its commands (its grants are never stranded);
 *   `revokePrevious: true` (a leaked token) stops it at once;
 * - `bootstrap(deviceId, { url, token })` → the script an operator pastes on the router;
 * - `checkIn(deviceId, { authorization, body })` → the job script for the response body
 *   (`text/plain`), or a `PullCheckInError` (`Unauthorized` → 401, `BadReport` and
 *   `UnknownSequence` → 400, `Unavailable` → 503 when the store cannot be reached).
 *
 * `make` builds the channel over the `PullStore` and `GrantStore` in the context; `layer`
 * provides it. The `DeviceGateway` over a channel is `PullGateway`.
 *
 * **All state is in the `PullStore`** (core port; in memory, or PostgreSQL/PGlite through
 * `@transient-access/adapter-store-postgres`): token hashes, pending commands, the applied
 * sequence and the last check-in. Any number of processes can run channels and gateways over
 * one store: a check-in served by one process confirms an operation waiting in another, and a
 * restarted process keeps every token and pending command.
 *
 * **No secret in the queue.** A pending create carries the grant id, name, group, expiry and
 * address, never the password: it is read from `GrantStore.readDeviceSecret(grantId)` when the
 * command is rendered for a check-in (the store keeps it sealed until the device confirms).
 * When it is gone (the grant was revoked, or the secret was wiped), the create is rendered as
 * a `:log warning` that still consumes the sequence, and the waiting `createUser` fails with
 * `Unknown` (retryable), so the executor decides again: retry or compensate. `PullGateway`'s
 * precondition is therefore the executor's: `createUser` is called for a grant whose device
 * secret is in the `GrantStore`.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AuditLog, type DeviceGateway, GrantStore, type Ids, PullStore, type TargetError } from "@transient-access/core"
import { type PullCommand, renderJobScript } from "./internal/jobScript.ts"
import { deviceError } from "./internal/menuClient.ts"
import { type CheckInReport, parseReport, renderBootstrap } from "./PullScript.ts"

/**
 * A refused check-in: `Unauthorized` (bad or missing token), `BadReport` (unparseable body),
 * `UnknownSequence` (the report claims a sequence the SDK never issued: forged; refused,
 * audited, nothing changes) or `Unavailable` (the store could not be reached; the device
 * retries at its next check-in).
 *
 * @category errors
 * @since 0.1.0
 */
export class PullCheckInError extends Schema.TaggedError<PullCheckInError>()("PullCheckInError", {
  reason: Schema.Literals(["Unauthorized", "BadReport", "UnknownSequence", "Unavailable"]),
  message: Schema.String
}) {}

/**
 * A check-in request as the HTTP layer hands it over.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckInRequest {
  /** The `Authorization` header (`Bearer <token>`). */
  readonly authorization: string | undefined
  /** The raw request body (the report). */
  readonly body: string
}

/**
 * How `awaitReport` waits.
 *
 * @category models
 * @since 0.1.0
 */
export interface AwaitOptions {
  /** Only check-ins numbered above this count (default: the count when the call starts). */
  readonly since?: number
  /** How often the store is read (default 250 ms). */
  readonly pollIntervalMs?: number
}

/**
 * The pull channel.
 *
 * @category services
 * @since 0.1.0
 */
export class PullChannel extends Context.Service<
  PullChannel,
  {
    /**
     * Registers a device (or rotates its token); returns the new token. The previous token
     * stays valid until the new one is first used, unless `revokePrevious`.
     */
    readonly registerDevice: (
      deviceId: Ids.DeviceId,
      options?: { readonly revokePrevious?: boolean }
    ) => Effect.Effect<Redacted.Redacted<string>, GrantStore.StoreError>
    /** The bootstrap script for a device (`url`: the device's check-in URL, HTTPS). */
    readonly bootstrap: (
      deviceId: Ids.DeviceId,
      options: { readonly url: string; readonly token: Redacted.Redacted<string>; readonly intervalSeconds?: number }
    ) => Effect.Effect<string>
    /** Handles a check-in; resolves to the job script to send back. */
    readonly checkIn: (deviceId: Ids.DeviceId, request: CheckInRequest) => Effect.Effect<string, PullCheckInError>
    /** Queues a command with its sequence number; `false` when the store dropped it (sequence already passed). */
    readonly enqueue: (
      deviceId: Ids.DeviceId,
      command: PullStore.PullCommand,
      sequence: number
    ) => Effect.Effect<boolean, TargetError.DeviceGatewayError>
    /** How many check-ins the device made so far (0 before the first). */
    readonly checkInCount: (deviceId: Ids.DeviceId) => Effect.Effect<number, TargetError.DeviceGatewayError>
    /** Waits for a check-in (after `since`) whose report satisfies `done`; `Timeout` otherwise. */
    readonly awaitReport: (
      deviceId: Ids.DeviceId,
      done: (report: CheckInReport) => boolean,
      timeoutMs: number,
      options?: AwaitOptions
    ) => Effect.Effect<CheckInReport, TargetError.DeviceGatewayError>
  }
>()("@transient-access/adapter-routeros/PullChannel") {}

const hashHex = (token: string): string => createHash("sha256").update(token).digest("hex")

/** The report as the store keeps it (JSON: the missing clock is `null`). */
const StoredReport = Schema.Struct({
  sequence: Schema.Int,
  clock: Schema.NullOr(Schema.Struct({ now: Schema.Number, iso: Schema.Boolean })),
  users: Schema.Array(Schema.Struct({ name: Schema.String, comment: Schema.String, disabled: Schema.Boolean, group: Schema.String })),
  nat: Schema.Array(
    Schema.Struct({
      comment: Schema.String,
      dstPort: Schema.String,
      srcAddress: Schema.String,
      toAddresses: Schema.String,
      toPorts: Schema.String,
      /** Absent in reports stored before 0.2.0 (read as enabled, as their check-in script did not say). */
      disabled: Schema.Boolean.pipe(Schema.withDecodingDefaultType(Effect.succeed(false)))
    })
  ),
  schedulers: Schema.Array(Schema.Struct({ name: Schema.String, comment: Schema.String }))
})

const toStored = (report: CheckInReport): typeof StoredReport.Type => ({ ...report, clock: report.clock ?? null })

const fromStored = (value: unknown, target: string): Effect.Effect<CheckInReport, TargetError.DeviceGatewayError> =>
  Schema.decodeUnknownEffect(StoredReport)(value).pipe(
    Effect.map((report) => ({ ...report, clock: report.clock ?? undefined })),
    Effect.mapError((error) => deviceError("Unknown", target, `unreadable stored check-in: ${error.message}`))
  )

const storeFailure = (target: string) => (error: GrantStore.StoreError) =>
  deviceError(error.reason === "Timeout" ? "Timeout" : "Unknown", target, `pull store: ${error.message}`, error)

/**
 * Builds a channel over the `PullStore` (state) and the `GrantStore` (device secrets).
 *
 * @category constructors
 * @since 0.2.0
 */
export const make: Effect.Effect<PullChannel["Service"], never, PullStore.PullStore | GrantStore.GrantStore> = Effect.gen(function* () {
  const pullStore = yield* PullStore.PullStore
  const grantStore = yield* GrantStore.GrantStore
  // the audit log when the application provides one (refused and stale check-ins)
  const auditLog = yield* Effect.serviceOption(AuditLog.AuditLog)
  const audit = (event: AuditLog.AuditEvent) =>
    Option.isSome(auditLog) ? auditLog.value.record(event) : Effect.logWarning(`pull check-in: ${event.action}`, event.details)
  const unavailable = (error: GrantStore.StoreError) =>
    new PullCheckInError({ reason: "Unavailable", message: `store unavailable (${error.reason})` })

  /**
   * A stored command with its password (read now), or a `Skip` when the password is gone —
   * or when the check-in is stale (a replay must never hand a password out again).
   */
  const render = (deviceId: Ids.DeviceId, entry: PullStore.PendingCommand, fresh: boolean) =>
    Effect.gen(function* () {
      const command = entry.command
      if (command._tag === "Probe") {
        return { sequence: entry.sequence, command: { _tag: "Skip", note: "ta: report requested" } as PullCommand }
      }
      if (command._tag !== "CreateUser") return { sequence: entry.sequence, command: command as PullCommand }
      // A password leaves once per issued sequence, and never to a stale check-in: a replay
      // (or a second fetch) gets a note instead; the gateway's retry issues a new sequence.
      const claimed = fresh && (yield* pullStore.claimDelivery(deviceId, entry.sequence))
      if (!claimed) {
        const note = `ta: create of ${command.username} not delivered again`
        return { sequence: entry.sequence, command: { _tag: "Skip", note } as PullCommand }
      }
      const secret = yield* grantStore.readDeviceSecret(command.grantId)
      if (Option.isNone(secret)) {
        yield* Effect.logWarning("pull create not delivered: the device copy of the password is gone", {
          grantId: command.grantId,
          username: command.username,
          sequence: entry.sequence
        })
        const note = `ta: create of ${command.username} (grant ${command.grantId}) skipped: its password is gone`
        return { sequence: entry.sequence, command: { _tag: "Skip", note } as PullCommand }
      }
      const spec: DeviceGateway.DeviceUserSpec = {
        grantId: command.grantId,
        username: command.username,
        password: secret.value,
        permission: command.permission,
        allowedAddress: command.allowedAddress,
        expiresAt: command.expiresAt
      }
      return { sequence: entry.sequence, command: { _tag: "CreateUser", spec, group: command.group } as PullCommand }
    })

  const checkInCount = (deviceId: Ids.DeviceId) =>
    pullStore
      .lastCheckIn(deviceId)
      .pipe(
        Effect.map(Option.match({ onNone: () => 0, onSome: (last) => last.count })),
        Effect.mapError(storeFailure(`device:${deviceId}`))
      )

  return PullChannel.of({
    registerDevice: (deviceId, options = {}) =>
      Effect.gen(function* () {
        const token = randomBytes(32).toString("base64url")
        yield* pullStore.setTokenHash(deviceId, hashHex(token), { keepPrevious: options.revokePrevious !== true })
        return Redacted.make(token)
      }),
    bootstrap: (_deviceId, options) => Effect.sync(() => renderBootstrap(options)),
    checkIn: (deviceId, request) =>
      Effect.gen(function* () {
        const current = yield* pullStore.tokenHash(deviceId).pipe(Effect.mapError(unavailable))
        const previous = yield* pullStore.previousTokenHash(deviceId).pipe(Effect.mapError(unavailable))
        // the auth scheme is case-insensitive (RFC 9110 §11.1)
        const presented = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.authorization ?? "")?.[1]
        const matches = (stored: Option.Option<string>) =>
          presented !== undefined &&
          Option.isSome(stored) &&
          timingSafeEqual(Buffer.from(hashHex(presented), "hex"), Buffer.from(stored.value, "hex"))
        const byCurrent = matches(current)
        if (!byCurrent && !matches(previous)) {
          return yield* new PullCheckInError({ reason: "Unauthorized", message: "unknown device or bad token" })
        }
        // the re-bootstrapped router took over: the token of the one before stops working
        if (byCurrent && Option.isSome(previous)) yield* pullStore.retirePreviousTokenHash(deviceId).pipe(Effect.mapError(unavailable))
        const report = parseReport(request.body)
        if (report === undefined) return yield* new PullCheckInError({ reason: "BadReport", message: "unreadable report" })
        const now = yield* Clock.currentTimeMillis
        const recorded = yield* pullStore
          .recordCheckIn(deviceId, { sequence: report.sequence, receivedAt: now, report: toStored(report) })
          .pipe(Effect.mapError(unavailable))
        if (recorded.outcome !== "Recorded") {
          yield* audit({
            at: now,
            actor: "system",
            action: recorded.outcome === "Unissued" ? "device.checkin-refused" : "device.checkin-stale",
            grantId: null,
            details: { deviceId, reportedSequence: report.sequence }
          })
        }
        if (recorded.outcome === "Unissued") {
          return yield* new PullCheckInError({
            reason: "UnknownSequence",
            message: `the report claims sequence ${report.sequence}, which was never issued to this device`
          })
        }
        const fresh = recorded.outcome === "Recorded"
        const commands = yield* Effect.forEach(recorded.pending, (entry) => render(deviceId, entry, fresh)).pipe(
          Effect.mapError(unavailable)
        )
        const offset = report.clock === undefined ? 0 : report.clock.now - now
        return renderJobScript(commands, offset, report.clock?.iso ?? true)
      }),
    enqueue: (deviceId, command, sequence) =>
      pullStore.enqueue(deviceId, { sequence, command }).pipe(Effect.mapError(storeFailure(`device:${deviceId}`))),
    checkInCount,
    awaitReport: (deviceId, done, timeoutMs, options = {}) =>
      Effect.gen(function* () {
        const target = `device:${deviceId}`
        const since = options.since ?? (yield* checkInCount(deviceId))
        const interval = Math.max(1, options.pollIntervalMs ?? 250)
        const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
        while (true) {
          const last = yield* pullStore.lastCheckIn(deviceId).pipe(Effect.mapError(storeFailure(target)))
          if (Option.isSome(last) && last.value.count > since) {
            const report = yield* fromStored(last.value.report, target)
            if (done(report)) return report
          }
          const now = yield* Clock.currentTimeMillis
          if (now >= deadline) {
            return yield* deviceError("Timeout", target, `no check-in confirming the change within ${timeoutMs} ms`)
          }
          yield* Effect.sleep(Math.min(interval, deadline - now))
        }
      })
  })
})

/**
 * The channel as a layer, over the `PullStore` and `GrantStore` it is given (e.g.
 * `MemoryPullStore.layer` for one process, `PgPullStore.layer` for many).
 *
 * @category layers
 * @since 0.2.0
 */
export const layer: Layer.Layer<PullChannel, never, PullStore.PullStore | GrantStore.GrantStore> = Layer.effect(PullChannel, make)
