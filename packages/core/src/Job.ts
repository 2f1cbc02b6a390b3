/**
 * Jobs: the nudges that the outbox publishes and the queue delivers.
 *
 * A job carries ids and a generation only, never a secret. The executor loads the grant's
 * current state from the store and decides what to do, so a job may be lost, duplicated
 * or reordered without harm.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Timestamp } from "./Grant.ts"
import type { Grant } from "./Grant.ts"
import { GrantId, idPatternSource, JobId } from "./Ids.ts"
import type { DeviceId, RegionId } from "./Ids.ts"
import { randomToken } from "./internal/randomToken.ts"

/**
 * The kinds of job. `nat.*` run against the grant's region, the others against its device.
 *
 * @category schemas
 * @since 0.1.0
 */
export const JobType = Schema.Literals(["nat.open", "nat.close", "user.create", "user.remove", "forward.open", "forward.close"])
/** @category models @since 0.1.0 */
export type JobType = typeof JobType.Type

/**
 * The target a job runs against: `region:<id>` or `device:<id>`. Jobs of one target are
 * executed in order, one at a time.
 *
 * @category schemas
 * @since 0.1.0
 */
export const JobTarget = Schema.String.check(Schema.isPattern(new RegExp(`^(region|device):${idPatternSource}$`)))
/** @category models @since 0.1.0 */
export type JobTarget = typeof JobTarget.Type

/**
 * A job as it travels through the outbox and the queue.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Job = Schema.Struct({
  id: JobId,
  type: JobType,
  grantId: GrantId,
  /** The grant generation that produced the job (informative; the executor reloads). */
  generation: Schema.Int,
  target: JobTarget,
  createdAt: Timestamp
})
/** @category models @since 0.1.0 */
export type Job = typeof Job.Type

/**
 * Decodes an unknown payload (from a queue or a database) into a job.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeJob = Schema.decodeUnknownEffect(Job)

/**
 * JSON codec for queue payloads.
 *
 * @category schemas
 * @since 0.1.0
 */
export const JobJson = Schema.fromJsonString(Job)

/**
 * The target string of a region.
 *
 * @category constructors
 * @since 0.1.0
 */
export const regionTarget = (regionId: RegionId): JobTarget => `region:${regionId}`

/**
 * The target string of a device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const deviceTarget = (deviceId: DeviceId): JobTarget => `device:${deviceId}`

/**
 * A fresh, unique job id.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeJobId = (): JobId => `job_${randomToken(24)}` as JobId

const make = (type: JobType, grant: Grant, now: number): Job => ({
  id: makeJobId(),
  type,
  grantId: grant.id,
  generation: grant.generation,
  target: type.startsWith("nat.") ? regionTarget(grant.regionId) : deviceTarget(grant.deviceId),
  createdAt: now
})

/**
 * The jobs that provision a grant.
 *
 * @category constructors
 * @since 0.1.0
 */
export const provisionJobs = (grant: Grant, now: number): ReadonlyArray<Job> => [
  make("nat.open", grant, now),
  make(grant.kind === "access" ? "user.create" : "forward.open", grant, now)
]

/**
 * The jobs that remove a grant's artifacts (registered whether or not the creates ran).
 *
 * @category constructors
 * @since 0.1.0
 */
export const removalJobs = (grant: Grant, now: number): ReadonlyArray<Job> => [
  make("nat.close", grant, now),
  make(grant.kind === "access" ? "user.remove" : "forward.close", grant, now)
]

/**
 * One job of a given type for a grant (used by the reconciler to re-nudge).
 *
 * @category constructors
 * @since 0.1.0
 */
export const jobFor = make
