/**
 * The `DeviceGateway` over a pull channel (`PullChannel`), for devices the SDK cannot open
 * connections to.
 *
 * Each operation draws the device's next sequence number (`GrantStore.nextDeviceSequence`,
 * the pull-mode fence), queues the command in the `PullStore` through the channel, then
 * polls the store (Effect `Clock` sleeps, every `pollIntervalMs`) for a check-in whose report
 * shows the sequence applied, and confirms the effect from the reported state (present,
 * absent, enabled). No check-in in time → `Timeout` (retryable; the command stays queued and
 * is delivered at the next check-in). `inventory` queues a `Probe` the same way, so every
 * confirmation — a removal's, the reconciler's — rests on a report that answers a sequence
 * issued after it was asked for: a replayed or delayed check-in proves nothing. (The pull
 * store refuses reports of sequences never issued and never lets an older report replace a
 * newer one.)
 *
 * Precondition (the executor's): `createUser` is called for a grant whose device secret is in
 * the `GrantStore`; the password is read from there when the command is rendered.
 *
 * `layer(options)` is the primary layer; `layerConfig` reads `TA_PULL_APPLY_TIMEOUT_MS`
 * (default 60 000) and `TA_PULL_POLL_INTERVAL_MS` (default 250). Both need `PullChannel` and
 * `GrantStore`.
 *
 * @since 0.2.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { DeviceGateway, Grant, GrantStore, type PullStore, type Topology } from "@transient-access/core"
import { deviceError } from "./internal/menuClient.ts"
import {
  defaultGroups,
  expiryOfComment,
  forwardSchedulerName,
  forwardSpecProblem,
  isOwnUser,
  userSchedulerName,
  userSpecProblem
} from "./internal/records.ts"
import * as PullChannel from "./PullChannel.ts"
import type { CheckInReport } from "./PullScript.ts"

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
  /** How often a waiting operation reads the store for a new check-in (default 250 ms). */
  readonly pollIntervalMs?: number
}

const maxSequenceDraws = 1000

/**
 * The `DeviceGateway` service over the `PullChannel`; needs `GrantStore` (sequences and, for
 * creates, the device secret).
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (
  options: PullOptions = {}
): Effect.Effect<DeviceGateway.DeviceGateway["Service"], never, PullChannel.PullChannel | GrantStore.GrantStore> =>
  Effect.gen(function* () {
    const channel = yield* PullChannel.PullChannel
    const store = yield* GrantStore.GrantStore
    const groups = options.groups ?? defaultGroups
    const timeout = options.applyTimeoutMs ?? 60_000
    const awaitOptions = options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }

    /**
     * Draws sequence numbers until the pull store accepts the command under one. A drawn
     * number can already be used: `nextDeviceSequence` joins the caller's transaction (the
     * executor's `withLiveGrant`), so a failed operation rolls the counter back while its
     * command stays queued; the next draw repeats that number and is skipped here.
     */
    const enqueueFresh = (device: Topology.Device, command: PullStore.PullCommand) =>
      Effect.gen(function* () {
        const target = `device:${device.id}`
        for (let attempt = 0; attempt < maxSequenceDraws; attempt++) {
          const sequence = yield* store
            .nextDeviceSequence(device.id)
            .pipe(Effect.mapError((error) => deviceError("Unknown", target, `no sequence: ${error.message}`)))
          if (yield* channel.enqueue(device.id, command, sequence)) return sequence
        }
        return yield* deviceError("Unknown", target, `no unused sequence number in ${maxSequenceDraws} draws; retry`)
      })

    /** Queues a command and waits for a check-in whose report applied it; returns that report. */
    const apply = (device: Topology.Device, command: PullStore.PullCommand) =>
      Effect.gen(function* () {
        const since = yield* channel.checkInCount(device.id)
        const sequence = yield* enqueueFresh(device, command)
        return yield* channel.awaitReport(device.id, (report) => report.sequence >= sequence, timeout, { ...awaitOptions, since })
      })

    const userIn = (report: CheckInReport, username: string) => report.users.find((user) => user.name === username)
    const target = (device: Topology.Device) => `device:${device.id}`

    return DeviceGateway.DeviceGateway.of({
      createUser: Effect.fn("PullGateway.createUser")(function* (device, spec) {
        // checked before queueing: a command the device refuses would abort every later job script
        const problem = userSpecProblem(spec)
        if (problem !== undefined) return yield* deviceError("Rejected", target(device), problem)
        const report = yield* apply(device, {
          _tag: "CreateUser",
          grantId: spec.grantId,
          username: spec.username,
          permission: spec.permission,
          group: groups[spec.permission],
          allowedAddress: spec.allowedAddress,
          expiresAt: spec.expiresAt
        })
        const user = userIn(report, spec.username)
        if (user === undefined) {
          const secret = yield* store.readDeviceSecret(spec.grantId).pipe(Effect.option)
          const gone = Option.isSome(secret) && Option.isNone(secret.value)
          return yield* deviceError(
            "Unknown",
            target(device),
            gone ? `create not delivered: the device copy of grant ${spec.grantId}'s password is gone` : "user not present after apply"
          )
        }
        if (user.comment !== Grant.artifactTag(spec.grantId)) {
          return yield* deviceError("Rejected", target(device), `user ${spec.username} belongs to another grant`)
        }
      }),
      enableUser: Effect.fn("PullGateway.enableUser")(function* (device, username) {
        const report = yield* apply(device, { _tag: "EnableUser", username })
        if (userIn(report, username) === undefined) return yield* deviceError("NotFound", target(device), `no user ${username}`)
      }),
      removeUser: Effect.fn("PullGateway.removeUser")(function* (device, username) {
        const report = yield* apply(device, { _tag: "RemoveUser", username })
        if (userIn(report, username) !== undefined || report.schedulers.some((entry) => entry.name === userSchedulerName(username))) {
          return yield* deviceError("Unknown", target(device), `user ${username} still listed after removal`)
        }
      }),
      openForward: Effect.fn("PullGateway.openForward")(function* (device, forward) {
        const problem = forwardSpecProblem(forward)
        if (problem !== undefined) return yield* deviceError("Rejected", target(device), problem)
        const tag = Grant.artifactTag(forward.grantId)
        const report = yield* apply(device, { _tag: "OpenForward", forward, dstAddress: device.tunnelAddress })
        if (!report.nat.some((rule) => rule.comment === tag)) {
          return yield* deviceError("Rejected", target(device), `listen port ${forward.listenPort} is held by another rule`)
        }
      }),
      enableForward: Effect.fn("PullGateway.enableForward")(function* (device, grantId) {
        const report = yield* apply(device, { _tag: "EnableForward", grantId })
        if (!report.nat.some((rule) => rule.comment === Grant.artifactTag(grantId))) {
          return yield* deviceError("NotFound", target(device), `no forward ${Grant.artifactTag(grantId)}`)
        }
      }),
      closeForward: Effect.fn("PullGateway.closeForward")(function* (device, grantId) {
        const report = yield* apply(device, { _tag: "CloseForward", grantId })
        if (report.nat.some((rule) => rule.comment === Grant.artifactTag(grantId))) {
          return yield* deviceError("Unknown", target(device), "forward still listed after removal")
        }
      }),
      inventory: Effect.fn("PullGateway.inventory")(function* (device) {
        // Evidence must be fresh: only a report answering a sequence issued now counts (a
        // replayed or delayed check-in, whatever it claims, never confirms a removal).
        const report = yield* apply(device, { _tag: "Probe" })
        return {
          users: report.users
            .filter((user) => isOwnUser(user.name, user.comment))
            .map((user) => ({
              username: user.name,
              grantId: Grant.parseArtifactTag(user.comment) ?? null,
              disabled: user.disabled,
              permission:
                user.group === groups.full ? ("full" as const) : user.group === groups["read-only"] ? ("read-only" as const) : null
            })),
          forwards: report.nat.flatMap((rule) => {
            const grantId = Grant.parseArtifactTag(rule.comment)
            if (grantId === undefined) return []
            const entry = report.schedulers.find((row) => row.name === forwardSchedulerName(grantId))
            const expiresAt = expiryOfComment(entry?.comment) ?? 0
            return [
              {
                grantId,
                listenPort: Number(rule.dstPort),
                to: { address: rule.toAddresses, port: Number(rule.toPorts) },
                allowedAddress: rule.srcAddress,
                expiresAt,
                disabled: rule.disabled
              }
            ]
          })
        }
      })
    })
  })

/**
 * The `DeviceGateway` over a pull channel; needs `PullChannel` and `GrantStore` (sequences
 * and, for creates, the device secret).
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (
  options: PullOptions = {}
): Layer.Layer<DeviceGateway.DeviceGateway, never, PullChannel.PullChannel | GrantStore.GrantStore> =>
  Layer.effect(DeviceGateway.DeviceGateway, make(options))

/**
 * The pull gateway with its timings read from `Config`: `TA_PULL_APPLY_TIMEOUT_MS` (default
 * 60 000) and `TA_PULL_POLL_INTERVAL_MS` (default 250); `groups` is given in code.
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConfig = (
  options: Pick<PullOptions, "groups"> = {}
): Layer.Layer<DeviceGateway.DeviceGateway, Config.ConfigError, PullChannel.PullChannel | GrantStore.GrantStore> =>
  Layer.unwrap(
    Effect.map(
      Config.all({
        applyTimeoutMs: Config.Int("TA_PULL_APPLY_TIMEOUT_MS").pipe(Config.withDefault(60_000)),
        pollIntervalMs: Config.Int("TA_PULL_POLL_INTERVAL_MS").pipe(Config.withDefault(250))
      }),
      (timings) => layer({ ...options, ...timings })
    )
  )
