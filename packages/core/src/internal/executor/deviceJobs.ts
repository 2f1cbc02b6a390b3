/**
 * The device job family: `user.create`, `user.remove`, `forward.open`, `forward.close` on
 * the grant's router. Creates go through the device fence (create disabled, re-check the
 * grant under its row lock, then enable); removes treat "not found" as success; both are
 * confirmed by listing the device.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AuditLog } from "../../AuditLog.ts"
import type { DeviceForwardSpec, DeviceGateway, DeviceInventory } from "../../DeviceGateway.ts"
import { isLive } from "../../Grant.ts"
import type { Grant } from "../../Grant.ts"
import type { GrantStore, StoreError } from "../../GrantStore.ts"
import type { Job } from "../../Job.ts"
import { isForceRevoked, recordProgress } from "../../Lifecycle.ts"
import type { DeviceGatewayError } from "../../TargetError.ts"
import type { Device, Region } from "../../Topology.ts"
import type { Faults } from "./faults.ts"
import { describe, deviceFailure, done, retry } from "./outcome.ts"
import type { Outcome } from "./outcome.ts"

/** What a device job runs with. */
export interface DeviceJobContext {
  readonly job: Job
  readonly store: GrantStore["Service"]
  readonly gateway: DeviceGateway["Service"]
  readonly faults: Faults
}

/** The device forward a port-forward grant needs. */
export const forwardOf = (grant: Grant, region: Region): DeviceForwardSpec => ({
  grantId: grant.id,
  listenPort: grant.endpoint.port,
  to: grant.forward ?? grant.target,
  allowedAddress: region.tunnelAddress,
  expiresAt: grant.expiresAt
})

type DeviceJob = Effect.Effect<Outcome, StoreError, GrantStore | AuditLog>

/** Runs one device job against the grant as loaded now. */
export const runDeviceJob = (context: DeviceJobContext, grant: Grant, device: Device, region: Region, now: number): DeviceJob => {
  switch (context.job.type) {
    case "user.create":
      return userCreate(context, grant, device, region, now)
    case "forward.open":
      return forwardOpen(context, grant, device, region, now)
    case "user.remove":
      return deviceRemove(context, grant, device, "user")
    default:
      return deviceRemove(context, grant, device, "forward")
  }
}

/**
 * The device fence, for users and forwards alike: `create` (which leaves the artifact
 * disabled), then `enable`, each under the grant's row lock with the grant re-checked live
 * (fencing off — the deliberately broken variant — runs both without the lock). Returns the
 * outcome to stop with, or `undefined` once both were applied.
 */
const createThenEnable = (
  context: DeviceJobContext,
  grant: Grant,
  create: Effect.Effect<void, DeviceGatewayError>,
  enable: Effect.Effect<void, DeviceGatewayError>
) =>
  Effect.gen(function* () {
    for (const step of [create, enable]) {
      const applied = context.faults.fencing
        ? yield* context.store.withLiveGrant(grant.id, () => step).pipe(Effect.result)
        : yield* step.pipe(Effect.map(Option.some), Effect.result)
      if (applied._tag === "Failure") return deviceFailure(applied.failure)
      if (Option.isNone(applied.success)) return done("grant no longer live")
    }
    return undefined
  })

const userCreate = (context: DeviceJobContext, grant: Grant, device: Device, region: Region, now: number): DeviceJob =>
  Effect.gen(function* () {
    const { gateway, store } = context
    if (!isLive(grant, now)) return done("grant not live")
    if (grant.progress.deviceReady) return done("already ready")
    const secret = yield* store.readDeviceSecret(grant.id)
    if (Option.isNone(secret)) {
      // A run that confirmed the user may have died before recording it: ask the device.
      const listed = yield* Effect.result(gateway.inventory(device))
      if (listed._tag === "Failure") return retry(describe(listed.failure))
      const existing = listed.success.users.find((candidate) => candidate.username === grant.username)
      if (existing !== undefined && !existing.disabled) {
        yield* recordProgress(grant.id, { deviceReady: true })
        return done("user ready")
      }
      return retry("the device copy of the password is gone and the user is not ready")
    }
    yield* context.faults.beforeAct(context.job)
    const spec = {
      grantId: grant.id,
      username: grant.username,
      password: secret.value,
      permission: grant.permission,
      allowedAddress: region.tunnelAddress,
      expiresAt: grant.expiresAt
    }
    const stopped = yield* createThenEnable(context, grant, gateway.createUser(device, spec), gateway.enableUser(device, grant.username))
    if (stopped !== undefined) return stopped
    const inventory = yield* Effect.result(gateway.inventory(device))
    if (inventory._tag === "Failure") return retry(describe(inventory.failure))
    const user = inventory.success.users.find((candidate) => candidate.username === grant.username)
    if (user === undefined || user.disabled) return retry("user not listed as enabled yet")
    // Recording `deviceReady` also wipes the device's copy of the password (after the record).
    yield* recordProgress(grant.id, { deviceReady: true })
    return done("user ready")
  })

const forwardOpen = (context: DeviceJobContext, grant: Grant, device: Device, region: Region, now: number): DeviceJob =>
  Effect.gen(function* () {
    const { gateway } = context
    if (!isLive(grant, now)) return done("grant not live")
    if (grant.progress.deviceReady) return done("already ready")
    yield* context.faults.beforeAct(context.job)
    const forward = forwardOf(grant, region)
    const stopped = yield* createThenEnable(context, grant, gateway.openForward(device, forward), gateway.enableForward(device, grant.id))
    if (stopped !== undefined) return stopped
    const inventory = yield* Effect.result(gateway.inventory(device))
    if (inventory._tag === "Failure") return retry(describe(inventory.failure))
    const listed = inventory.success.forwards.find((candidate) => candidate.grantId === grant.id)
    if (listed === undefined || listed.disabled) return retry("forward not listed as enabled yet")
    yield* recordProgress(grant.id, { deviceReady: true })
    return done("forward ready")
  })

const deviceRemove = (context: DeviceJobContext, grant: Grant, device: Device, what: "user" | "forward"): DeviceJob => {
  const { gateway } = context
  const remove = what === "user" ? gateway.removeUser(device, grant.username) : gateway.closeForward(device, grant.id)
  const listed = (inventory: DeviceInventory) =>
    what === "user"
      ? inventory.users.some((user) => user.username === grant.username)
      : inventory.forwards.some((forward) => forward.grantId === grant.id)
  return Effect.gen(function* () {
    if (isForceRevoked(grant) && !grant.progress.deviceGone) {
      yield* Effect.ignore(remove)
      return done("force-revoked: removed best effort")
    }
    if (grant.state !== "revoking") return done(`grant is ${grant.state}`)
    if (grant.progress.deviceGone) return done("already gone")
    if (!context.faults.idempotentRemove) {
      // Deliberately broken variant: a remove of something absent is an error.
      const before = yield* Effect.result(gateway.inventory(device))
      if (before._tag === "Failure") return retry(describe(before.failure))
      if (!listed(before.success)) return retry("no such item")
    }
    const removed = yield* Effect.result(remove)
    if (removed._tag === "Failure" && removed.failure.reason !== "NotFound") return retry(describe(removed.failure))
    const inventory = yield* Effect.result(gateway.inventory(device))
    if (inventory._tag === "Failure") return retry(describe(inventory.failure))
    if (listed(inventory.success)) return retry(`${what} still listed after removal`)
    // Recording `deviceGone` also wipes the device's copy of the password.
    yield* recordProgress(grant.id, { deviceGone: true })
    return done(`${what} removed`)
  })
}
