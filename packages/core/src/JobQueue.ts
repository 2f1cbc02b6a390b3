/**
 * The job queue port: at-least-once delivery of jobs, in order per target.
 *
 * The queue only carries nudges; the store holds the truth. A job may be delivered more
 * than once, late, or (if the queue loses data) never — the outbox relay republishes
 * jobs that were not completed, and the reconciler converges targets regardless.
 *
 * Contract (pinned by `JobQueueSuite` in `@transient-access/core/testing`):
 * - `publish` then `poll` delivers every job at least once.
 * - At most one delivery per target is outstanding at a time (a lease); the next job of
 *   that target is delivered only after `ack`, `retry` or `deadLetter` of the previous
 *   one, or after the lease expired (the consumer died). Jobs of one target are delivered
 *   in publication order.
 * - `retry(delay)` delivers the same job again, not before `delay`, with `attempt + 1`.
 * - `deadLetter` removes the job from delivery and keeps it in `deadLetters`.
 * - Publishing the same job id twice while it is queued delivers it once.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Job } from "./Job.ts"

/**
 * A failure of the queue itself.
 *
 * @category errors
 * @since 0.1.0
 */
export class QueueError extends Schema.TaggedError<QueueError>()("QueueError", {
  reason: Schema.Literals(["Unavailable", "Timeout", "Misconfigured", "Corrupt", "LeaseLost", "Unknown"]),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * One delivered job and what the consumer can do with it. The delivery holds its target's
 * lease until one of the three settles it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Delivery {
  readonly job: Job
  /** 1 on the first delivery. */
  readonly attempt: number
  /** The job is done: forget it. */
  readonly ack: Effect.Effect<void, QueueError>
  /** Deliver it again, not before `delay`. */
  readonly retry: (delay: Duration.Input) => Effect.Effect<void, QueueError>
  /** Stop delivering it and keep it as a dead letter. */
  readonly deadLetter: (reason: string) => Effect.Effect<void, QueueError>
}

/**
 * A dead letter.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly job: Job | null
  readonly reason: string
  readonly attempts: number
}

/**
 * The job queue port.
 *
 * @category services
 * @since 0.1.0
 */
export class JobQueue extends Context.Service<
  JobQueue,
  {
    readonly publish: (jobs: ReadonlyArray<Job>) => Effect.Effect<void, QueueError>
    /**
     * Takes up to `max` deliveries for `consumer`, each for a different target, waiting up
     * to `wait` for the first. Returns an empty array when nothing is due.
     */
    readonly poll: (options: {
      readonly consumer: string
      readonly max: number
      readonly wait?: Duration.Input
    }) => Effect.Effect<ReadonlyArray<Delivery>, QueueError>
    readonly deadLetters: Effect.Effect<ReadonlyArray<DeadLetter>, QueueError>
  }
>()("@transient-access/core/JobQueue") {}
