/**
 * Pull mode: a device that checks in reads the jobs queued for its target and acknowledges
 * them once it reports them applied. This sits beside the `JobQueue` port (which pushes one
 * job per target at a time to workers).
 *
 * A check-in takes the target's lease (the same fenced lease `poll` uses) and up to `max`
 * jobs in order. `ack(jobIds)` acknowledges the listed jobs and releases the lease; jobs not
 * acknowledged stay pending and are handed out again once idle for `claimIdleMs`. Payloads
 * that fail decoding are dead-lettered, never returned.
 *
 * @since 0.1.0
 */
import type { Job, JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import type { Engine, SettleItem } from "./internal/Engine.ts"
import type { TakenEntry } from "./internal/replies.ts"

/**
 * The jobs one check-in read, and how to acknowledge them.
 *
 * @category models
 * @since 0.1.0
 */
export interface PullBatch {
  readonly target: string
  readonly jobs: ReadonlyArray<{ readonly job: Job.Job; readonly attempt: number }>
  /** Acknowledges the listed jobs (those the device applied) and releases the lease. */
  readonly ack: (jobIds: ReadonlyArray<string>) => Effect.Effect<void, JobQueue.QueueError>
}

/**
 * Reads up to `max` jobs of `target` for a check-in; an empty batch when the target has
 * nothing due or another consumer holds its lease.
 *
 * @category constructors
 * @since 0.1.0
 */
export const checkIn = (engine: Engine) =>
  Effect.fnUntraced(function*(target: string, options: { readonly consumer: string; readonly max: number }) {
    const empty: PullBatch = { target, jobs: [], ack: () => Effect.void }
    const taken = yield* engine.take(target, options.consumer, Math.max(1, Math.floor(options.max)))
    if (taken._tag !== "Taken") return empty
    const delivered: Array<{ readonly job: Job.Job; readonly entry: TakenEntry }> = []
    const rejected: Array<SettleItem> = []
    for (const entry of taken.entries) {
      const checked = engine.check(target, entry)
      if (checked._tag === "Reject") rejected.push({ mode: "dead", entry, reason: checked.reason })
      else delivered.push({ job: checked.job, entry })
    }
    if (rejected.length > 0) yield* engine.settle(target, taken.token, rejected, delivered.length === 0)
    if (delivered.length === 0) return empty
    const batch: PullBatch = {
      target,
      jobs: delivered.map(({ entry, job }) => ({ job, attempt: entry.attempt })),
      ack: (jobIds) => {
        const wanted = new Set(jobIds)
        const items: Array<SettleItem> = delivered
          .filter(({ job }) => wanted.has(job.id))
          .map(({ entry }) => ({ mode: "ack", entry }))
        return items.length === 0 ? Effect.void : engine.settle(target, taken.token, items, true)
      }
    }
    return batch
  })
