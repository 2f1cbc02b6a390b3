/**
 * Job executors: apply one job to its target, fenced, idempotently, and confirm by listing.
 *
 * A job carries ids only; the executor reloads the grant and acts on its **current**
 * state. Creates happen only for live grants, under the store's row lock, and device users
 * are created disabled and enabled only after a second locked re-check (the device fence);
 * NAT changes carry the grant's region revision (the regional fence). Removes treat "not
 * found" as success and confirm absence by listing the target before recording it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AuditLog } from "./AuditLog.ts"
import { DeviceGateway } from "./DeviceGateway.ts"
import type { DeviceForwardSpec, DeviceInventory } from "./DeviceGateway.ts"
import { isLive } from "./Grant.ts"
import type { Grant, GrantProgress } from "./Grant.ts"
import { GenerationConflict, GrantStore, InvalidTransition } from "./GrantStore.ts"
import type { StoreError } from "./GrantStore.ts"
import type { GrantId } from "./Ids.ts"
import type { Job } from "./Job.ts"
import { RegionalGateway } from "./RegionalGateway.ts"
import type { NatPath } from "./RegionalGateway.ts"
import type { DeviceGatewayError, RegionalGatewayError } from "./TargetError.ts"
import { DeviceDirectory, RegionDirectory } from "./Topology.ts"
import type { Device, Region } from "./Topology.ts"

/**
 * What became of a job run.
 * - `Done`: nothing (more) to do for this job.
 * - `Retry`: a retryable failure; run it again later.
 * - `Failed`: it can never succeed (e.g. the device rejected the input); for a create this
 *   leads to compensation (revoke as `failed`).
 *
 * @category models
 * @since 0.1.0
 */
export type Outcome =
  | { readonly _tag: "Done"; readonly note: string }
  | { readonly _tag: "Retry"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly reason: string }

const done = (note: string): Outcome => ({ _tag: "Done", note })
const retry = (reason: string): Outcome => ({ _tag: "Retry", reason })
const failed = (reason: string): Outcome => ({ _tag: "Failed", reason })

/**
 * Test hooks and deliberate faults. The defaults are the correct executor; the model-based
 * tests switch individual safeguards off to prove that the tests can fail.
 *
 * @category models
 * @since 0.1.0
 */
export interface ExecutorOptions {
  /** Called after the executor decided to act and before it touches a target (a pause point). */
  readonly beforeAct: (job: Job) => Effect.Effect<void>
  /** Fences on (revision, locked re-check, disabled-then-enable). */
  readonly fencing: boolean
  /** Removes treat "not found" as success. */
  readonly idempotentRemove: boolean
}

/**
 * The executor options in use (a reference with the correct defaults).
 *
 * @category services
 * @since 0.1.0
 */
export const ExecutorOptions = Context.Reference<ExecutorOptions>("@transient-access/core/ExecutorOptions", {
  defaultValue: () => ({ beforeAct: () => Effect.void, fencing: true, idempotentRemove: true })
})

/** The regional path a grant needs. */
export const pathOf = (grant: Grant): NatPath => ({
  grantId: grant.id,
  regionId: grant.regionId,
  publicPort: grant.endpoint.port,
  source: grant.source,
  target: grant.target,
  stopAt: grant.expiresAt
})

/** The device forward a port-forward grant needs. */
export const forwardOf = (grant: Grant, region: Region): DeviceForwardSpec => ({
  grantId: grant.id,
  listenPort: grant.endpoint.port,
  to: grant.forward ?? grant.target,
  allowedAddress: region.tunnelAddress,
  expiresAt: grant.expiresAt
})

const isForced = (grant: Grant): boolean => grant.state === "revoked" && grant.revokeReason === "forced"

const describe = (error: RegionalGatewayError | DeviceGatewayError): string => `${error.reason}: ${error.message}`

/**
 * Records progress on a grant with compare-and-set retries. `activate` moves a pending
 * grant whose targets are both ready to `active`; `finish` moves a revoking grant whose
 * artifacts are both gone to `revoked`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const recordProgress = Effect.fnUntraced(function*(grantId: GrantId, progress: Partial<GrantProgress>) {
  const store = yield* GrantStore
  while (true) {
    const found = yield* store.get(grantId)
    if (Option.isNone(found)) return Option.none<Grant>()
    const grant = found.value
    if (grant.state === "revoked") return Option.some(grant)
    const merged = { ...grant.progress, ...progress }
    const unchanged = (Object.keys(progress) as Array<keyof GrantProgress>).every((key) => grant.progress[key] === merged[key])
    const activate = grant.state === "pending" && merged.natOpen && merged.deviceReady
    const finish = grant.state === "revoking" && merged.natGone && merged.deviceGone
    if (unchanged && !activate && !finish) return Option.some(grant)
    const now = yield* Clock.currentTimeMillis
    const result = yield* Effect.result(store.update({
      grantId,
      expectedGeneration: grant.generation,
      patch: {
        progress,
        ...(activate ? { state: "active" as const } : {}),
        ...(finish ? { state: "revoked" as const, revokedAt: now } : {})
      },
      jobs: () => []
    }))
    if (result._tag === "Success") {
      if (finish) {
        yield* store.wipeDeviceSecret(grantId)
        const audit = yield* AuditLog
        yield* audit.record({ at: now, actor: "system", action: "grant.revoked", grantId, details: { reason: grant.revokeReason } })
      }
      return Option.some(result.success)
    }
    const error = result.failure
    if (error instanceof GenerationConflict || error instanceof InvalidTransition) continue
    if (error._tag === "GrantNotFound") return Option.none<Grant>()
    return yield* error
  }
})

/**
 * Bumps a grant's revision to the region's current one (after `StaleRevision`), without
 * changing anything else. Fails with `GenerationConflict` if the grant changed meanwhile.
 */
const touch = (grant: Grant) =>
  GrantStore.use((store) => store.update({ grantId: grant.id, expectedGeneration: grant.generation, patch: {}, jobs: () => [] }))

/**
 * Runs one job to an outcome.
 *
 * @category constructors
 * @since 0.1.0
 */
export const execute = Effect.fn("Executor.execute")(function*(job: Job) {
  const store = yield* GrantStore
  const regional = yield* RegionalGateway
  const deviceGateway = yield* DeviceGateway
  const devices = yield* DeviceDirectory
  const regions = yield* RegionDirectory
  const options = yield* ExecutorOptions

  // Up to a few rounds: a stale revision or a lost compare-and-set reloads and tries again.
  for (let round = 0; round < 4; round++) {
    const found = yield* store.get(job.grantId)
    if (Option.isNone(found)) return done("unknown grant")
    const grant = found.value
    const now = yield* Clock.currentTimeMillis
    const region = yield* Effect.result(regions.get(grant.regionId))
    if (region._tag === "Failure") return failed(`region ${grant.regionId} unknown`)
    const device = yield* Effect.result(devices.get(grant.deviceId))
    if (device._tag === "Failure") return failed(`device ${grant.deviceId} unknown`)

    const step: Outcome | "again" = yield* (() => {
      switch (job.type) {
        case "nat.open":
          return natOpen(grant, region.success, now)
        case "nat.close":
          return natClose(grant, region.success)
        case "user.create":
          return userCreate(grant, device.success, region.success, now)
        case "user.remove":
          return deviceRemove(grant, device.success, "user")
        case "forward.open":
          return forwardOpen(grant, device.success, region.success, now)
        case "forward.close":
          return deviceRemove(grant, device.success, "forward")
      }
    })()
    if (step !== "again") return step
  }
  return retry("kept losing races with concurrent changes")

  function natOpen(grant: Grant, region: Region, now: number) {
    return Effect.gen(function*() {
      if (!isLive(grant, now)) return done("grant not live")
      if (grant.progress.natOpen) return done("already open")
      yield* options.beforeAct(job)
      const revision = options.fencing ? grant.revision : Number.MAX_SAFE_INTEGER
      const opened = yield* Effect.result(regional.open(region, pathOf(grant), revision))
      if (opened._tag === "Failure") {
        const error = opened.failure
        if (error.reason === "StaleRevision") return yield* refence(grant, region)
        // `Rejected` may be transient here (a force-revoked grant's path still holds the
        // port until it is removed): retry; the runner compensates after provisionAttempts.
        return retry(describe(error))
      }
      const listed = yield* Effect.result(regional.list(region))
      if (listed._tag === "Failure") return retry(describe(listed.failure))
      if (!listed.success.some((path) => path.grantId === grant.id)) return retry("path not listed after open")
      yield* recordProgress(grant.id, { natOpen: true })
      return done("opened")
    })
  }

  function natClose(grant: Grant, region: Region) {
    return Effect.gen(function*() {
      if (isForced(grant) && !grant.progress.natGone) {
        // Force-revoked: the port is already free; remove the path anyway, best effort.
        yield* Effect.ignore(regional.close(region, { grantId: grant.id, publicPort: grant.endpoint.port }, grant.revision))
        return done("force-revoked: removed best effort")
      }
      if (grant.state !== "revoking") return done(`grant is ${grant.state}`)
      if (grant.progress.natGone) return done("already gone")
      const revision = options.fencing ? grant.revision : Number.MAX_SAFE_INTEGER
      const closed = yield* Effect.result(regional.close(region, { grantId: grant.id, publicPort: grant.endpoint.port }, revision))
      if (closed._tag === "Failure") {
        const error = closed.failure
        if (error.reason === "StaleRevision") return yield* refence(grant, region)
        return retry(describe(error))
      }
      const listed = yield* Effect.result(regional.list(region))
      if (listed._tag === "Failure") return retry(describe(listed.failure))
      if (listed.success.some((path) => path.grantId === grant.id)) return retry("path still listed after close")
      yield* recordProgress(grant.id, { natGone: true })
      return done("closed")
    })
  }

  function refence(grant: Grant, region: Region) {
    // The server recorded a newer revision than the grant carries: make sure the store's
    // region revision is past the server's (it may be ahead, e.g. after the store was
    // restored from a backup), then stamp the grant with a fresh one and try again.
    return regional.revision(region).pipe(
      Effect.flatMap((recorded) => store.advanceRegionRevision(region.id, recorded)),
      Effect.catchTag("RegionalGatewayError", () => Effect.void),
      Effect.andThen(touch(grant)),
      Effect.as("again" as const),
      Effect.catchTags({
        GenerationConflict: () => Effect.succeed("again" as const),
        InvalidTransition: () => Effect.succeed("again" as const),
        GrantNotFound: () => Effect.succeed(done("unknown grant"))
      })
    )
  }

  /**
   * The device fence, for users and forwards alike: `create` (which leaves the artifact
   * disabled), then `enable`, each under the grant's row lock with the grant re-checked live
   * (fencing off — the deliberately broken variant — runs both without the lock). Returns
   * the outcome to stop with, or `undefined` once both were applied.
   */
  function createThenEnable(
    grant: Grant,
    create: Effect.Effect<void, DeviceGatewayError>,
    enable: Effect.Effect<void, DeviceGatewayError>
  ) {
    return Effect.gen(function*() {
      for (const step of [create, enable]) {
        const applied = options.fencing
          ? yield* store.withLiveGrant(grant.id, () => step).pipe(Effect.result)
          : yield* step.pipe(Effect.map(Option.some), Effect.result)
        if (applied._tag === "Failure") return deviceFailure(applied.failure)
        if (Option.isNone(applied.success)) return done("grant no longer live")
      }
      return undefined
    })
  }

  function userCreate(grant: Grant, device: Device, region: Region, now: number) {
    return Effect.gen(function*() {
      if (!isLive(grant, now)) return done("grant not live")
      if (grant.progress.deviceReady) return done("already ready")
      const secret = yield* store.readDeviceSecret(grant.id)
      if (Option.isNone(secret)) {
        // A run that confirmed the user may have died before recording it: ask the device.
        const listed = yield* Effect.result(deviceGateway.inventory(device))
        if (listed._tag === "Failure") return retry(describe(listed.failure))
        const existing = listed.success.users.find((candidate) => candidate.username === grant.username)
        if (existing !== undefined && !existing.disabled) {
          yield* recordProgress(grant.id, { deviceReady: true })
          return done("user ready")
        }
        return retry("the device copy of the password is gone and the user is not ready")
      }
      yield* options.beforeAct(job)
      const spec = {
        grantId: grant.id,
        username: grant.username,
        password: secret.value,
        permission: grant.permission,
        allowedAddress: region.tunnelAddress,
        expiresAt: grant.expiresAt
      }
      const stopped = yield* createThenEnable(grant, deviceGateway.createUser(device, spec), deviceGateway.enableUser(device, grant.username))
      if (stopped !== undefined) return stopped
      const inventory = yield* Effect.result(deviceGateway.inventory(device))
      if (inventory._tag === "Failure") return retry(describe(inventory.failure))
      const user = inventory.success.users.find((candidate) => candidate.username === grant.username)
      if (user === undefined || user.disabled) return retry("user not listed as enabled yet")
      // Record first, then wipe: a failure in between leaves a secret to wipe later (at
      // revoke), never a ready user whose grant believes it still has to be created.
      yield* recordProgress(grant.id, { deviceReady: true })
      yield* store.wipeDeviceSecret(grant.id)
      return done("user ready")
    })
  }

  function forwardOpen(grant: Grant, device: Device, region: Region, now: number) {
    return Effect.gen(function*() {
      if (!isLive(grant, now)) return done("grant not live")
      if (grant.progress.deviceReady) return done("already ready")
      yield* options.beforeAct(job)
      const forward = forwardOf(grant, region)
      const stopped = yield* createThenEnable(grant, deviceGateway.openForward(device, forward), deviceGateway.enableForward(device, grant.id))
      if (stopped !== undefined) return stopped
      const inventory = yield* Effect.result(deviceGateway.inventory(device))
      if (inventory._tag === "Failure") return retry(describe(inventory.failure))
      const listed = inventory.success.forwards.find((candidate) => candidate.grantId === grant.id)
      if (listed === undefined || listed.disabled) return retry("forward not listed as enabled yet")
      yield* recordProgress(grant.id, { deviceReady: true })
      return done("forward ready")
    })
  }

  function deviceRemove(grant: Grant, device: Device, what: "user" | "forward") {
    const remove = what === "user" ? deviceGateway.removeUser(device, grant.username) : deviceGateway.closeForward(device, grant.id)
    const listed = (inventory: DeviceInventory) =>
      what === "user"
        ? inventory.users.some((user) => user.username === grant.username)
        : inventory.forwards.some((forward) => forward.grantId === grant.id)
    return Effect.gen(function*() {
      if (isForced(grant) && !grant.progress.deviceGone) {
        yield* Effect.ignore(remove)
        return done("force-revoked: removed best effort")
      }
      if (grant.state !== "revoking") return done(`grant is ${grant.state}`)
      if (grant.progress.deviceGone) return done("already gone")
      if (!options.idempotentRemove) {
        // Deliberately broken variant: a remove of something absent is an error.
        const before = yield* Effect.result(deviceGateway.inventory(device))
        if (before._tag === "Failure") return retry(describe(before.failure))
        if (!listed(before.success)) return retry("no such item")
      }
      const removed = yield* Effect.result(remove)
      if (removed._tag === "Failure" && removed.failure.reason !== "NotFound") return retry(describe(removed.failure))
      const inventory = yield* Effect.result(deviceGateway.inventory(device))
      if (inventory._tag === "Failure") return retry(describe(inventory.failure))
      if (listed(inventory.success)) return retry(`${what} still listed after removal`)
      yield* store.wipeDeviceSecret(grant.id)
      yield* recordProgress(grant.id, { deviceGone: true })
      return done(`${what} removed`)
    })
  }
})

const deviceFailure = (error: DeviceGatewayError | StoreError): Outcome =>
  error._tag === "StoreError"
    ? retry(`${error.reason}: ${error.message}`)
    : error.retryable
    ? retry(describe(error))
    : failed(describe(error))

