/**
 * Pull mode: devices that cannot be reached check in over HTTPS and receive their pending
 * commands as a RouterOS script.
 *
 * `PullChannel` is what an HTTP server mounts:
 * - `registerDevice(deviceId)` → the device's bearer token (kept as a SHA-256 hash; give the
 *   token to `bootstrap` once);
 * - `bootstrap(deviceId, { url, token })` → the script an operator pastes on the router;
 * - `checkIn(deviceId, { authorization, body })` → the job script for the response body
 *   (`text/plain`), or a `PullCheckInError` (`Unauthorized` → 401, `BadReport` → 400).
 *
 * `layerPull` is the `DeviceGateway` over a channel: each operation queues a command with the
 * device's next sequence number (`GrantStore.nextDeviceSequence`, the pull-mode fence), then
 * waits (up to `applyTimeoutMs`) for a check-in whose report shows the sequence applied and
 * confirms the effect from the reported state (present, absent, enabled). No check-in in time
 * → `Timeout` (retryable; the command stays queued and is delivered at the next check-in).
 *
 * Pending commands (including the password of a pending create, `Redacted`) live in this
 * process' memory until the device confirms them; several API processes need one channel
 * process (or a store-backed queue, not provided).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { DeviceGateway, Grant, GrantStore, type Ids, type TargetError, type Topology } from "@transient-access/core"
import { deviceError } from "./MenuClient.ts"
import { type CheckInReport, type PullCommand, parseReport, renderBootstrap, renderJobScript } from "./PullScript.ts"
import { expiryOfComment, forwardSchedulerName, userSchedulerName } from "./RouterOsGateway.ts"

/**
 * A refused check-in: `Unauthorized` (bad or missing token) or `BadReport` (unparseable body).
 *
 * @category errors
 * @since 0.1.0
 */
export class PullCheckInError extends Schema.TaggedError<PullCheckInError>()("PullCheckInError", {
  reason: Schema.Literals(["Unauthorized", "BadReport"]),
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

interface DeviceQueue {
  tokenHash: Buffer | undefined
  pending: Array<{ readonly sequence: number; readonly command: PullCommand }>
  report: CheckInReport | undefined
  reports: number
  waiters: Set<() => void>
}

/**
 * The pull channel.
 *
 * @category services
 * @since 0.1.0
 */
export class PullChannel extends Context.Service<PullChannel, {
  /** Registers a device (or rotates its token); returns the new token. */
  readonly registerDevice: (deviceId: Ids.DeviceId) => Effect.Effect<Redacted.Redacted<string>>
  /** The bootstrap script for a device (`url`: the device's check-in URL, HTTPS). */
  readonly bootstrap: (
    deviceId: Ids.DeviceId,
    options: { readonly url: string; readonly token: Redacted.Redacted<string>; readonly intervalSeconds?: number }
  ) => Effect.Effect<string>
  /** Handles a check-in; resolves to the job script to send back. */
  readonly checkIn: (deviceId: Ids.DeviceId, request: CheckInRequest) => Effect.Effect<string, PullCheckInError>
  /** Queues a command; resolves to its sequence number. */
  readonly enqueue: (deviceId: Ids.DeviceId, command: PullCommand, sequence: number) => Effect.Effect<void>
  /** Waits for a report received after this call that satisfies `done`; `Timeout` otherwise. */
  readonly awaitReport: (
    deviceId: Ids.DeviceId,
    done: (report: CheckInReport) => boolean,
    timeoutMs: number
  ) => Effect.Effect<CheckInReport, TargetError.DeviceGatewayError>
}>()("@transient-access/adapter-routeros/PullChannel") {}

const hash = (token: string): Buffer => createHash("sha256").update(token).digest()

/**
 * Builds a channel (in memory).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makePullChannel = (): PullChannel["Service"] => {
  const devices = new Map<string, DeviceQueue>()
  const queue = (deviceId: string): DeviceQueue => {
    let entry = devices.get(deviceId)
    if (!entry) {
      entry = { tokenHash: undefined, pending: [], report: undefined, reports: 0, waiters: new Set() }
      devices.set(deviceId, entry)
    }
    return entry
  }
  return {
    registerDevice: (deviceId) =>
      Effect.sync(() => {
        const token = randomBytes(32).toString("base64url")
        queue(deviceId).tokenHash = hash(token)
        return Redacted.make(token)
      }),
    bootstrap: (_deviceId, options) => Effect.sync(() => renderBootstrap(options)),
    checkIn: (deviceId, request) =>
      Effect.gen(function*() {
        const entry = devices.get(deviceId)
        const presented = /^Bearer (\S+)$/.exec(request.authorization ?? "")?.[1]
        if (entry?.tokenHash === undefined || presented === undefined || !timingSafeEqual(hash(presented), entry.tokenHash)) {
          return yield* new PullCheckInError({ reason: "Unauthorized", message: "unknown device or bad token" })
        }
        const report = parseReport(request.body)
        if (report === undefined) return yield* new PullCheckInError({ reason: "BadReport", message: "unreadable report" })
        const now = yield* Clock.currentTimeMillis
        entry.pending = entry.pending.filter((item) => item.sequence > report.sequence)
        entry.report = report
        entry.reports++
        for (const wake of [...entry.waiters]) wake()
        const offset = report.clock === undefined ? 0 : report.clock.now - now
        return renderJobScript(entry.pending, offset, report.clock?.iso ?? true)
      }),
    enqueue: (deviceId, command, sequence) =>
      Effect.sync(() => {
        queue(deviceId).pending.push({ sequence, command })
      }),
    awaitReport: (deviceId, done, timeoutMs) => {
      const entry = queue(deviceId)
      const start = entry.reports
      return Effect.callback<CheckInReport, TargetError.DeviceGatewayError>((resume) => {
        const check = () => {
          if (entry.reports > start && entry.report !== undefined && done(entry.report)) {
            entry.waiters.delete(check)
            clearTimeout(timer)
            resume(Effect.succeed(entry.report))
          }
        }
        const timer = setTimeout(() => {
          entry.waiters.delete(check)
          resume(Effect.fail(deviceError("Timeout", `device:${deviceId}`, `no check-in confirming the change within ${timeoutMs} ms`)))
        }, timeoutMs)
        entry.waiters.add(check)
        return Effect.sync(() => {
          entry.waiters.delete(check)
          clearTimeout(timer)
        })
      })
    }
  }
}

/**
 * Options of the pull gateway.
 *
 * @category models
 * @since 0.1.0
 */
export interface PullOptions {
  /** Group per permission (default `full` → `full`, `read-only` → `read`). */
  readonly groups?: Readonly<Record<Grant.Permission, string>>
  /** How long an operation waits for a confirming check-in (default 60 s). */
  readonly applyTimeoutMs?: number
}

const usernamePattern = /^ta-[a-z0-9]{4,32}$/

/**
 * The `DeviceGateway` over a pull channel; needs `PullChannel` and `GrantStore` (sequences).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPull = (options: PullOptions = {}): Layer.Layer<DeviceGateway.DeviceGateway, never, PullChannel | GrantStore.GrantStore> =>
  Layer.effect(
    DeviceGateway.DeviceGateway,
    Effect.gen(function*() {
      const channel = yield* PullChannel
      const store = yield* GrantStore.GrantStore
      const groups = options.groups ?? { full: "full", "read-only": "read" }
      const timeout = options.applyTimeoutMs ?? 60_000

      /** Queues a command and waits for a report that applied it; returns that report. */
      const apply = (device: Topology.Device, command: PullCommand) =>
        Effect.gen(function*() {
          const sequence = yield* store.nextDeviceSequence(device.id).pipe(
            Effect.mapError((error) => deviceError("Unknown", `device:${device.id}`, `no sequence: ${error.message}`))
          )
          const waiting = yield* Effect.forkChild(channel.awaitReport(device.id, (report) => report.sequence >= sequence, timeout))
          yield* channel.enqueue(device.id, command, sequence)
          return yield* Fiber.join(waiting)
        })

      const userIn = (report: CheckInReport, username: string) => report.users.find((user) => user.name === username)
      const target = (device: Topology.Device) => `device:${device.id}`

      return DeviceGateway.DeviceGateway.of({
        createUser: Effect.fn("PullGateway.createUser")(function*(device, spec) {
          if (!usernamePattern.test(spec.username)) return yield* deviceError("Rejected", target(device), "invalid user name")
          const report = yield* apply(device, { _tag: "CreateUser", spec, group: groups[spec.permission] })
          const user = userIn(report, spec.username)
          if (user === undefined) return yield* deviceError("Unknown", target(device), "user not present after apply")
          if (user.comment !== Grant.artifactTag(spec.grantId)) {
            return yield* deviceError("Rejected", target(device), `user ${spec.username} belongs to another grant`)
          }
        }),
        enableUser: Effect.fn("PullGateway.enableUser")(function*(device, username) {
          const report = yield* apply(device, { _tag: "EnableUser", username })
          if (userIn(report, username) === undefined) return yield* deviceError("NotFound", target(device), `no user ${username}`)
        }),
        removeUser: Effect.fn("PullGateway.removeUser")(function*(device, username) {
          const report = yield* apply(device, { _tag: "RemoveUser", username })
          if (userIn(report, username) !== undefined || report.schedulers.some((entry) => entry.name === userSchedulerName(username))) {
            return yield* deviceError("Unknown", target(device), `user ${username} still listed after removal`)
          }
        }),
        openForward: Effect.fn("PullGateway.openForward")(function*(device, forward) {
          const tag = Grant.artifactTag(forward.grantId)
          const report = yield* apply(device, { _tag: "OpenForward", forward, dstAddress: device.tunnelAddress })
          if (!report.nat.some((rule) => rule.comment === tag)) {
            return yield* deviceError("Rejected", target(device), `listen port ${forward.listenPort} is held by another rule`)
          }
        }),
        closeForward: Effect.fn("PullGateway.closeForward")(function*(device, grantId) {
          const report = yield* apply(device, { _tag: "CloseForward", grantId })
          if (report.nat.some((rule) => rule.comment === Grant.artifactTag(grantId))) {
            return yield* deviceError("Unknown", target(device), "forward still listed after removal")
          }
        }),
        inventory: Effect.fn("PullGateway.inventory")(function*(device) {
          const report = yield* channel.awaitReport(device.id, () => true, timeout)
          return {
            users: report.users.map((user) => ({
              username: user.name,
              grantId: Grant.parseArtifactTag(user.comment) ?? null,
              disabled: user.disabled,
              permission: user.group === groups.full ? "full" as const : user.group === groups["read-only"] ? "read-only" as const : null
            })),
            forwards: report.nat.flatMap((rule) => {
              const grantId = Grant.parseArtifactTag(rule.comment)
              if (grantId === undefined) return []
              const entry = report.schedulers.find((row) => row.name === forwardSchedulerName(grantId))
              const expiresAt = expiryOfComment(entry?.comment) ?? 0
              return [{
                grantId,
                listenPort: Number(rule.dstPort),
                to: { address: rule.toAddresses, port: Number(rule.toPorts) },
                allowedAddress: rule.srcAddress,
                expiresAt
              }]
            })
          }
        })
      })
    })
  )

/**
 * The channel as a layer (in memory).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerChannel: Layer.Layer<PullChannel> = Layer.sync(PullChannel, makePullChannel)
