/**
 * Job executors: apply one job to its target, fenced, idempotently, and confirm by listing.
 *
 * A job carries ids only; the executor reloads the grant and acts on its **current**
 * state. Creates happen only for live grants, under the store's row lock, and device users
 * are created disabled and enabled only after a second locked re-check (the device fence);
 * NAT changes carry the grant's region revision (the regional fence). Removes treat "not
 * found" as success and confirm absence by listing the target before recording it. What a
 * confirmation changes in the grant's state is decided by `Lifecycle`.
 *
 * Internal: `JobRunner` is the public way to run jobs. The job families live beside this
 * module (region jobs, device jobs, outcomes); the broken-variant switches are set from
 * `testing/ExecutorFaults`.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { DeviceGateway } from "../../DeviceGateway.ts"
import { GrantStore } from "../../GrantStore.ts"
import type { Job } from "../../Job.ts"
import { RegionalGateway } from "../../RegionalGateway.ts"
import { DeviceDirectory, RegionDirectory } from "../../Topology.ts"
import { runDeviceJob } from "./deviceJobs.ts"
import { Faults } from "./faults.ts"
import { done, failed, retry } from "./outcome.ts"
import type { Step } from "./outcome.ts"
import { runRegionJob } from "./regionJobs.ts"

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
export type { Outcome } from "./outcome.ts"

/** A stale revision or a lost compare-and-set reloads the grant and decides again, this many times. */
const rounds = 4

/**
 * Runs one job to an outcome.
 *
 * @category constructors
 * @since 0.1.0
 */
export const execute = Effect.fn("Executor.execute")(function* (job: Job) {
  const store = yield* GrantStore
  const regional = yield* RegionalGateway
  const gateway = yield* DeviceGateway
  const devices = yield* DeviceDirectory
  const regions = yield* RegionDirectory
  const faults = yield* Faults

  for (let round = 0; round < rounds; round++) {
    const found = yield* store.get(job.grantId)
    if (Option.isNone(found)) return done("unknown grant")
    const grant = found.value
    const now = yield* Clock.currentTimeMillis
    const region = yield* Effect.result(regions.get(grant.regionId))
    if (region._tag === "Failure") return failed(`region ${grant.regionId} unknown`)
    const device = yield* Effect.result(devices.get(grant.deviceId))
    if (device._tag === "Failure") return failed(`device ${grant.deviceId} unknown`)
    const step: Step =
      job.type === "nat.open" || job.type === "nat.close"
        ? yield* runRegionJob({ job, store, regional, faults }, grant, region.success, now)
        : yield* runDeviceJob({ job, store, gateway, faults }, grant, device.success, region.success, now)
    if (step !== "again") return step
  }
  return retry("kept losing races with concurrent changes")
})
