/**
 * The reconciler: the level-triggered safety net under the edge-triggered jobs.
 *
 * For each region it lists the tagged NAT paths and closes every path whose grant is not
 * live (using the revision read together with the live set, so the regional fence refuses
 * a close that raced a newer change), re-opens paths that live, confirmed grants lost
 * (e.g. after a server reboot), and records `natGone` for revoking grants whose path is
 * listed absent. For each device it removes every `ta-` user and tagged forward whose grant
 * is not live, and records `deviceGone` likewise. A grant whose two artifacts are confirmed
 * gone becomes `revoked`. Losing every job therefore only delays convergence by one period.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AuditLog } from "./AuditLog.ts"
import type { AuditAction } from "./AuditLog.ts"
import { DeviceGateway } from "./DeviceGateway.ts"
import { isLive } from "./Grant.ts"
import type { Grant } from "./Grant.ts"
import { GrantStore } from "./GrantStore.ts"
import { recordProgress } from "./Lifecycle.ts"
import { RegionalGateway } from "./RegionalGateway.ts"
import { DeviceDirectory, RegionDirectory } from "./Topology.ts"
import type { Device, Region } from "./Topology.ts"
import { pathOf } from "./internal/executor/regionJobs.ts"

/**
 * What one reconciler pass changed.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReconcileReport {
  readonly pathsClosed: number
  readonly pathsReopened: number
  readonly usersRemoved: number
  readonly forwardsClosed: number
  readonly confirmedGone: number
  readonly unreachable: ReadonlyArray<string>
}

const correction = (action: AuditAction, grantId: string | null, details: Record<string, string | number>) =>
  Effect.gen(function* () {
    const audit = yield* AuditLog
    yield* audit.record({ at: yield* Clock.currentTimeMillis, actor: "system", action, grantId, details })
    yield* Effect.logInfo(`reconciler: ${action}`).pipe(Effect.annotateLogs({ grantId: grantId ?? "-", ...details }))
  })

/**
 * Reconciles one region.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reconcileRegion = Effect.fn("Reconciler.reconcileRegion")(function* (region: Region) {
  const store = yield* GrantStore
  const gateway = yield* RegionalGateway
  const snapshot = yield* store.regionSnapshot(region.id)
  const now = yield* Clock.currentTimeMillis
  const byId = new Map<string, Grant>(snapshot.grants.map((grant) => [grant.id, grant]))
  const paths = yield* gateway.list(region)
  let closed = 0
  let reopened = 0
  let confirmed = 0
  for (const path of paths) {
    const grant = byId.get(path.grantId)
    if (grant !== undefined && isLive(grant, now)) continue
    const target = { grantId: path.grantId, publicPort: path.publicPort }
    let result = yield* Effect.result(gateway.close(region, target, snapshot.revision))
    if (result._tag === "Failure" && result.failure.reason === "StaleRevision") {
      // The region changed since the snapshot (busy region): decide again on a fresh one.
      const fresh = yield* store.regionSnapshot(region.id)
      const current = fresh.grants.find((candidate) => candidate.id === path.grantId)
      if (current !== undefined && isLive(current, yield* Clock.currentTimeMillis)) continue
      result = yield* Effect.result(gateway.close(region, target, fresh.revision))
    }
    if (result._tag === "Success") {
      closed++
      yield* correction("reconciler.path-closed", path.grantId, { regionId: region.id, port: path.publicPort })
    } else {
      yield* Effect.logWarning("reconciler: could not close an orphan path").pipe(
        Effect.annotateLogs({ regionId: region.id, grantId: path.grantId, reason: result.failure.reason })
      )
    }
  }
  const listedIds = new Set(paths.map((path) => path.grantId as string))
  for (const grant of snapshot.grants) {
    if (isLive(grant, now) && grant.progress.natOpen && !listedIds.has(grant.id)) {
      const result = yield* Effect.result(gateway.open(region, pathOf(grant), snapshot.revision))
      if (result._tag === "Success") {
        reopened++
        yield* correction("reconciler.path-reopened", grant.id, { regionId: region.id, port: grant.endpoint.port })
      }
    }
  }
  // Revoking grants: close again (idempotent) so the server records a revision at least
  // as new as the revoke before absence is confirmed — a paused open can then never land.
  const revoking = snapshot.grants.filter((grant) => grant.state === "revoking" && !grant.progress.natGone)
  const closedNow = new Set<string>()
  for (const grant of revoking) {
    const result = yield* Effect.result(gateway.close(region, { grantId: grant.id, publicPort: grant.endpoint.port }, snapshot.revision))
    if (result._tag === "Success") closedNow.add(grant.id)
  }
  const after = new Set((yield* gateway.list(region)).map((path) => path.grantId as string))
  for (const grant of revoking) {
    if (closedNow.has(grant.id) && !after.has(grant.id)) {
      yield* recordProgress(grant.id, { natGone: true })
      confirmed++
    }
  }
  return { closed, reopened, confirmed }
})

/**
 * Reconciles one device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reconcileDevice = Effect.fn("Reconciler.reconcileDevice")(function* (device: Device) {
  const store = yield* GrantStore
  const gateway = yield* DeviceGateway
  // List the device first, then read the store: every artifact listed was created after its
  // grant was committed (intent before effect), so its grant is in the read below.
  const inventory = yield* gateway.inventory(device)
  const grants = yield* store.deviceGrants(device.id)
  const now = yield* Clock.currentTimeMillis
  const byId = new Map<string, Grant>(grants.map((grant) => [grant.id, grant]))
  const byUsername = new Map<string, Grant>(grants.map((grant) => [grant.username, grant]))
  /** Re-reads a grant right before removing its artifact (it may have been created meanwhile). */
  const stillNotLive = (grantId: string | null) =>
    grantId === null
      ? Effect.succeed(true)
      : store
          .get(grantId as Grant["id"])
          .pipe(Effect.flatMap((found) => Effect.map(Clock.currentTimeMillis, (at) => found._tag === "None" || !isLive(found.value, at))))
  let usersRemoved = 0
  let forwardsClosed = 0
  let confirmed = 0
  for (const user of inventory.users) {
    const grant = byUsername.get(user.username) ?? (user.grantId === null ? undefined : byId.get(user.grantId))
    if (grant !== undefined && isLive(grant, now) && grant.kind === "access") continue
    if (!(yield* stillNotLive(grant?.id ?? user.grantId))) continue
    const result = yield* Effect.result(gateway.removeUser(device, user.username))
    if (result._tag === "Success") {
      usersRemoved++
      yield* correction("reconciler.user-removed", user.grantId, { deviceId: device.id, username: user.username })
    }
  }
  for (const forward of inventory.forwards) {
    const grant = byId.get(forward.grantId)
    if (grant !== undefined && isLive(grant, now) && grant.kind === "port-forward") continue
    if (!(yield* stillNotLive(forward.grantId))) continue
    const result = yield* Effect.result(gateway.closeForward(device, forward.grantId))
    if (result._tag === "Success") {
      forwardsClosed++
      yield* correction("reconciler.forward-closed", forward.grantId, { deviceId: device.id })
    }
  }
  const after = yield* gateway.inventory(device)
  const users = new Set(after.users.map((user) => user.username))
  const forwards = new Set(after.forwards.map((forward) => forward.grantId as string))
  for (const grant of grants) {
    if (grant.state !== "revoking" || grant.progress.deviceGone) continue
    const present = grant.kind === "access" ? users.has(grant.username) : forwards.has(grant.id)
    if (!present) {
      yield* recordProgress(grant.id, { deviceGone: true })
      confirmed++
    }
  }
  return { usersRemoved, forwardsClosed, confirmed }
})

/**
 * One pass over every region and device; unreachable targets are reported and skipped.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reconcileOnce = Effect.fn("Reconciler.reconcileOnce")(function* () {
  const regions = yield* (yield* RegionDirectory).list
  const devices = yield* (yield* DeviceDirectory).list
  let pathsClosed = 0
  let pathsReopened = 0
  let usersRemoved = 0
  let forwardsClosed = 0
  let confirmedGone = 0
  const unreachable: Array<string> = []
  for (const region of regions) {
    const result = yield* Effect.result(reconcileRegion(region))
    if (result._tag === "Failure") {
      unreachable.push(`region:${region.id}`)
      continue
    }
    pathsClosed += result.success.closed
    pathsReopened += result.success.reopened
    confirmedGone += result.success.confirmed
  }
  for (const device of devices) {
    const result = yield* Effect.result(reconcileDevice(device))
    if (result._tag === "Failure") {
      unreachable.push(`device:${device.id}`)
      continue
    }
    usersRemoved += result.success.usersRemoved
    forwardsClosed += result.success.forwardsClosed
    confirmedGone += result.success.confirmed
  }
  return { pathsClosed, pathsReopened, usersRemoved, forwardsClosed, confirmedGone, unreachable } satisfies ReconcileReport
})
