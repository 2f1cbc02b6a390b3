/**
 * The region job family: `nat.open` and `nat.close` on the grant's regional server, fenced
 * by the region revision and confirmed by listing the server.
 */
import * as Effect from "effect/Effect"
import type { AuditLog } from "../../AuditLog.ts"
import { isLive } from "../../Grant.ts"
import type { Grant } from "../../Grant.ts"
import type { GrantStore, StoreError } from "../../GrantStore.ts"
import type { Job } from "../../Job.ts"
import { isForceRevoked, recordProgress } from "../../Lifecycle.ts"
import type { NatPath, RegionalGateway } from "../../RegionalGateway.ts"
import type { Region } from "../../Topology.ts"
import type { Faults } from "./faults.ts"
import { describe, done, failed, retry } from "./outcome.ts"
import type { Step } from "./outcome.ts"

/** What a region job runs with. */
export interface RegionJobContext {
  readonly job: Job
  readonly store: GrantStore["Service"]
  readonly regional: RegionalGateway["Service"]
  readonly faults: Faults
}

/** The regional path a grant needs. */
export const pathOf = (grant: Grant): NatPath => ({
  grantId: grant.id,
  regionId: grant.regionId,
  publicPort: grant.endpoint.port,
  source: grant.source,
  target: grant.target,
  stopAt: grant.expiresAt
})

/** Runs one region job against the grant as loaded now. */
export const runRegionJob = (
  context: RegionJobContext,
  grant: Grant,
  region: Region,
  now: number
): Effect.Effect<Step, StoreError, GrantStore | AuditLog> =>
  context.job.type === "nat.open" ? natOpen(context, grant, region, now) : natClose(context, grant, region)

/** The revision an action carries: the grant's (fenced), or "newest" in the broken variant. */
const revisionOf = (context: RegionJobContext, grant: Grant) => (context.faults.fencing ? grant.revision : Number.MAX_SAFE_INTEGER)

const natOpen = (context: RegionJobContext, grant: Grant, region: Region, now: number) =>
  Effect.gen(function* () {
    if (!isLive(grant, now)) return done("grant not live")
    if (grant.progress.natOpen) return done("already open")
    yield* context.faults.beforeAct(context.job)
    const opened = yield* Effect.result(context.regional.open(region, pathOf(grant), revisionOf(context, grant)))
    if (opened._tag === "Failure") {
      const error = opened.failure
      if (error.reason === "StaleRevision") return yield* refence(context, grant, region)
      if (error.reason === "Rejected") {
        // Transient only when another grant's path still holds the port (a force-revoked
        // grant's path, removed best effort): retry then. Anything else the server refuses
        // can never pass: fail the grant at once (compensated), so its retries never hold
        // up the region's other jobs.
        const held = yield* Effect.result(context.regional.list(region))
        if (held._tag === "Failure") return retry(describe(held.failure))
        const holder = held.success.find((path) => path.publicPort === grant.endpoint.port && path.grantId !== grant.id)
        return holder !== undefined ? retry(`${describe(error)} (port held by ${holder.grantId})`) : failed(describe(error))
      }
      return retry(describe(error))
    }
    const listed = yield* Effect.result(context.regional.list(region))
    if (listed._tag === "Failure") return retry(describe(listed.failure))
    if (!listed.success.some((path) => path.grantId === grant.id)) return retry("path not listed after open")
    yield* recordProgress(grant.id, { natOpen: true })
    return done("opened")
  })

const natClose = (context: RegionJobContext, grant: Grant, region: Region) =>
  Effect.gen(function* () {
    const target = { grantId: grant.id, publicPort: grant.endpoint.port }
    if (isForceRevoked(grant) && !grant.progress.natGone) {
      // Force-revoked: the port is already free; remove the path anyway, best effort.
      yield* Effect.ignore(context.regional.close(region, target, grant.revision))
      return done("force-revoked: removed best effort")
    }
    if (grant.state !== "revoking") return done(`grant is ${grant.state}`)
    if (grant.progress.natGone) return done("already gone")
    const closed = yield* Effect.result(context.regional.close(region, target, revisionOf(context, grant)))
    if (closed._tag === "Failure") {
      const error = closed.failure
      if (error.reason === "StaleRevision") return yield* refence(context, grant, region)
      return retry(describe(error))
    }
    const listed = yield* Effect.result(context.regional.list(region))
    if (listed._tag === "Failure") return retry(describe(listed.failure))
    if (listed.success.some((path) => path.grantId === grant.id)) return retry("path still listed after close")
    yield* recordProgress(grant.id, { natGone: true })
    return done("closed")
  })

/**
 * The server recorded a newer revision than the grant carries: make sure the store's
 * region revision is past the server's (it may be ahead, e.g. after the store was restored
 * from a backup), then stamp the grant with a fresh one and try again.
 */
const refence = (context: RegionJobContext, grant: Grant, region: Region): Effect.Effect<Step, StoreError> =>
  context.regional.revision(region).pipe(
    Effect.flatMap((recorded) => context.store.advanceRegionRevision(region.id, recorded)),
    Effect.catchTag("RegionalGatewayError", () => Effect.void),
    Effect.andThen(context.store.update({ grantId: grant.id, expectedGeneration: grant.generation, patch: {}, jobs: () => [] })),
    Effect.as<Step>("again"),
    Effect.catchTags({
      GenerationConflict: () => Effect.succeed<Step>("again"),
      InvalidTransition: () => Effect.succeed<Step>("again"),
      GrantNotFound: () => Effect.succeed(done("unknown grant"))
    })
  )
