/**
 * The `DeviceGateway` operations for RouterOS, written once against a `MenuClient`
 * (API push or SSH CLI); `ApiTransport` and `SshTransport` build their gateways with it.
 *
 * - `createUser`: first the device-side expiry entry (`/system scheduler`, named
 *   `ta-exp-<username>`, comment `ta:<grant>`) — so a user never exists without it — then the
 *   user **disabled**, with the permission's group, `address` = the regional server's tunnel
 *   address, comment `ta:<grant>`. Repeating it is success; it never enables. The expiry time
 *   is written in the device's clock (offset measured from `/system/clock`, whole seconds),
 *   so the entry fires between `expiresAt` and ~2 s after it.
 * - `enableUser`: `NotFound` when absent, else `disabled=no`.
 * - `removeUser`: disable, `request-logout` every session of that name, remove the user and
 *   its scheduler entry ("no such item" is success), then list both to confirm absence.
 * - `openForward`: first the expiry entry `ta-fwd-<grant>`, then a `dstnat` rule tagged
 *   `ta:<grant>`, created **disabled** (`disabled=yes`); repeating it is success and never
 *   enables (nor disables an enabled rule).
 * - `enableForward`: `NotFound` when no rule carries the tag, else `disabled=no` on the rule
 *   found by its `ta:<grant>` comment (the fence: a late enable after the close finds nothing).
 * - `closeForward`: removes the rule and its expiry entry, then lists to confirm absence.
 * - `inventory`: every `ta:`-tagged user or user named exactly like the SDK's generated names
 *   (`ta-` + 12 of `[a-z0-9]`; an operator's `ta-sdk` login is never listed), and every
 *   `ta:`-tagged NAT rule with its `disabled` flag.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { DeviceGateway, Grant, type Ids, type Topology } from "@transient-access/core"
import * as Redacted from "effect/Redacted"
import { type MenuClient, deviceError, eq, prefix, withoutSecret } from "./menuClient.ts"
import {
  defaultGroups,
  defaultSchedulerPolicy,
  expiryOfComment,
  expiryRecord,
  forwardExpiryScript,
  forwardRecord,
  forwardSchedulerName,
  forwardSpecProblem,
  isOwnUser,
  schedulerComment,
  userExpiryScript,
  userRecord,
  userSchedulerName,
  userSpecProblem
} from "./records.ts"

/**
 * The options every push transport passes through (documented on `ApiTransport.ApiOptions`
 * and `SshTransport.SshOptions`).
 *
 * @category models
 * @since 0.1.0
 */
export interface GatewayOptions {
  readonly groups?: Readonly<Record<Grant.Permission, string>> | undefined
  readonly schedulerPolicy?: string | undefined
}

const userMenu = ["user"]
const schedulerMenu = ["system", "scheduler"]
const natMenu = ["ip", "firewall", "nat"]

/** A RouterOS boolean as printed (`true`/`false`, older `yes`/`no`). */
const isYes = (value: string | undefined): boolean => value === "true" || value === "yes"

/**
 * Builds the gateway service from a way to reach each device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMenuGateway = (
  clientFor: (device: Topology.Device) => MenuClient,
  options: GatewayOptions = {}
): DeviceGateway.DeviceGateway["Service"] => {
  const groups = options.groups ?? defaultGroups
  const policy = options.schedulerPolicy ?? defaultSchedulerPolicy
  const targetOf = (device: Topology.Device) => `device:${device.id}`

  /** Adds the expiry entry `name` unless present, at `at` in the device's (skew-corrected) clock. */
  const ensureSchedule = (client: MenuClient, name: string, tag: string, at: number, script: string) =>
    Effect.gen(function* () {
      const existing = yield* client.list(schedulerMenu, eq("name", name), ["name"])
      if (existing.length > 0) return
      const clock = yield* client.clock
      const ours = yield* Clock.currentTimeMillis
      const comment = schedulerComment(tag, at)
      yield* client.add(schedulerMenu, expiryRecord({ name, comment, at, deviceOffset: clock.now - ours, iso: clock.iso, policy, script }))
    })

  const createUser = Effect.fn("RouterOsGateway.createUser")(function* (device: Topology.Device, spec: DeviceGateway.DeviceUserSpec) {
    const target = targetOf(device)
    const problem = userSpecProblem(spec)
    if (problem !== undefined) return yield* deviceError("Rejected", target, problem)
    const client = clientFor(device)
    const tag = Grant.artifactTag(spec.grantId)
    const existing = yield* client.list(userMenu, eq("name", spec.username), ["name", "comment"])
    if (existing.length > 0 && existing[0]!.comment !== tag) {
      return yield* deviceError("Rejected", target, `user ${spec.username} exists and belongs to another grant`)
    }
    yield* ensureSchedule(
      client,
      userSchedulerName(spec.username),
      tag,
      spec.expiresAt,
      userExpiryScript(spec.username, userSchedulerName(spec.username))
    )
    if (existing.length > 0) return
    yield* client.add(userMenu, userRecord(spec, groups[spec.permission])).pipe(
      // a device may echo the failing command: the password never reaches an error or a log
      Effect.mapError(withoutSecret(Redacted.value(spec.password))),
      Effect.catchIf(
        (error) => /already exis/i.test(error.message),
        () =>
          Effect.gen(function* () {
            // a concurrent create won the race: success only if it is ours
            const again = yield* client.list(userMenu, eq("name", spec.username), ["comment"])
            if (again[0]?.comment !== tag) return yield* deviceError("Rejected", target, `user ${spec.username} exists`)
          })
      )
    )
  })

  const enableUser = Effect.fn("RouterOsGateway.enableUser")(function* (device: Topology.Device, username: string) {
    const client = clientFor(device)
    const existing = yield* client.list(userMenu, eq("name", username), ["name"])
    if (existing.length === 0) return yield* deviceError("NotFound", targetOf(device), `no user ${username}`)
    yield* client.update(userMenu, eq("name", username), { disabled: "no" })
  })

  const removeUser = Effect.fn("RouterOsGateway.removeUser")(function* (device: Topology.Device, username: string) {
    const client = clientFor(device)
    const schedule = userSchedulerName(username)
    yield* client.update(userMenu, eq("name", username), { disabled: "yes" })
    yield* client.logout(username)
    yield* client.remove(userMenu, eq("name", username))
    yield* client.remove(schedulerMenu, eq("name", schedule))
    const users = yield* client.list(userMenu, eq("name", username), ["name"])
    const schedules = yield* client.list(schedulerMenu, eq("name", schedule), ["name"])
    if (users.length > 0 || schedules.length > 0) {
      return yield* deviceError("Unknown", targetOf(device), `user ${username} still listed after removal`)
    }
  })

  const openForward = Effect.fn("RouterOsGateway.openForward")(function* (
    device: Topology.Device,
    forward: DeviceGateway.DeviceForwardSpec
  ) {
    const target = targetOf(device)
    const problem = forwardSpecProblem(forward)
    if (problem !== undefined) return yield* deviceError("Rejected", target, problem)
    const client = clientFor(device)
    const tag = Grant.artifactTag(forward.grantId)
    const schedule = forwardSchedulerName(forward.grantId)
    const holders = yield* client.list(natMenu, eq("dst-port", String(forward.listenPort)), ["comment", "chain"])
    const holder = holders.find((rule) => rule.chain === "dstnat" && rule.comment !== tag)
    if (holder !== undefined) {
      return yield* deviceError("Rejected", target, `listen port ${forward.listenPort} is held by ${holder.comment ?? "another rule"}`)
    }
    yield* ensureSchedule(client, schedule, tag, forward.expiresAt, forwardExpiryScript(tag, schedule))
    const existing = yield* client.list(natMenu, eq("comment", tag), ["comment"])
    if (existing.length > 0) return
    yield* client.add(natMenu, forwardRecord(forward, device.tunnelAddress))
  })

  const enableForward = Effect.fn("RouterOsGateway.enableForward")(function* (device: Topology.Device, grantId: Ids.GrantId) {
    const client = clientFor(device)
    const tag = Grant.artifactTag(grantId)
    const existing = yield* client.list(natMenu, eq("comment", tag), ["comment"])
    if (existing.length === 0) return yield* deviceError("NotFound", targetOf(device), `no forward ${tag}`)
    yield* client.update(natMenu, eq("comment", tag), { disabled: "no" })
  })

  const closeForward = Effect.fn("RouterOsGateway.closeForward")(function* (device: Topology.Device, grantId: Ids.GrantId) {
    const client = clientFor(device)
    const tag = Grant.artifactTag(grantId)
    yield* client.remove(natMenu, eq("comment", tag))
    yield* client.remove(schedulerMenu, eq("name", forwardSchedulerName(grantId)))
    const left = yield* client.list(natMenu, eq("comment", tag), ["comment"])
    if (left.length > 0) return yield* deviceError("Unknown", targetOf(device), `forward ${tag} still listed after removal`)
  })

  const inventory = Effect.fn("RouterOsGateway.inventory")(function* (device: Topology.Device) {
    const client = clientFor(device)
    const byName = yield* client.list(userMenu, prefix("name", "ta-"), ["name", "comment", "disabled", "group"])
    const byTag = yield* client.list(userMenu, prefix("comment", "ta:"), ["name", "comment", "disabled", "group"])
    const seen = new Set<string>()
    const users: Array<DeviceGateway.DeviceUser> = []
    for (const row of [...byName, ...byTag]) {
      const username = row.name ?? ""
      if (seen.has(username)) continue
      seen.add(username)
      if (!isOwnUser(username, row.comment ?? "")) continue
      const group = row.group
      users.push({
        username,
        grantId: Grant.parseArtifactTag(row.comment ?? "") ?? null,
        disabled: isYes(row.disabled),
        permission: group === groups.full ? "full" : group === groups["read-only"] ? "read-only" : null
      })
    }
    const rules = yield* client.list(natMenu, prefix("comment", "ta:"), [
      "comment",
      "dst-port",
      "src-address",
      "to-addresses",
      "to-ports",
      "disabled"
    ])
    const schedules = yield* client.list(schedulerMenu, prefix("name", "ta-fwd-"), ["name", "comment"])
    const forwards: Array<DeviceGateway.DeviceForward> = []
    for (const rule of rules) {
      const grantId = Grant.parseArtifactTag(rule.comment ?? "")
      if (grantId === undefined) continue
      const entry = schedules.find((row) => row.name === forwardSchedulerName(grantId))
      forwards.push({
        grantId,
        listenPort: Number(rule["dst-port"] ?? "0"),
        to: { address: rule["to-addresses"] ?? "", port: Number(rule["to-ports"] ?? "0") },
        allowedAddress: rule["src-address"] ?? "",
        expiresAt: expiryOfComment(entry?.comment) ?? 0,
        disabled: isYes(rule.disabled)
      })
    }
    return { users, forwards }
  })

  return { createUser, enableUser, removeUser, openForward, enableForward, closeForward, inventory }
}

/**
 * The gateway service over a connection pool that is closed when the scope ends.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makePooledGateway = <Pool extends { readonly closeAll: () => Promise<void> }>(
  makePool: () => Pool,
  clientFor: (pool: Pool, device: Topology.Device) => MenuClient,
  options: GatewayOptions
): Effect.Effect<DeviceGateway.DeviceGateway["Service"], never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.sync(makePool), (pool) => Effect.promise(() => pool.closeAll())),
    (pool) => DeviceGateway.DeviceGateway.of(makeMenuGateway((device) => clientFor(pool, device), options))
  )
