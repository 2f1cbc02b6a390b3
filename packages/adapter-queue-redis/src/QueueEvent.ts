/**
 * Events of the Redis queue that operators must be able to see: unsafe server settings,
 * dead letters and jobs reclaimed from a consumer that stopped answering.
 *
 * Each event is logged, kept in a bounded in-memory buffer (`RedisQueue.events`) and, for
 * settings and dead letters, recorded in the `AuditLog` when one is provided.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * An event of the queue.
 *
 * - `ConfigWarning`: a server setting is unsafe but tolerated (AOF off: a restart may lose
 *   the last writes; the outbox republishes them).
 * - `DeadLettered`: a job left delivery (consumer's decision, too many attempts, or a
 *   payload that failed decoding).
 * - `Reclaimed`: a delivery whose consumer did not settle it in time was handed out again.
 *
 * @category schemas
 * @since 0.1.0
 */
export const QueueEvent = Schema.TaggedUnion({
  /** A server setting is unsafe but tolerated. */
  ConfigWarning: {
    at: Schema.Number,
    node: Schema.String,
    setting: Schema.String,
    value: Schema.String,
    message: Schema.String
  },
  /** A job left delivery. */
  DeadLettered: {
    at: Schema.Number,
    target: Schema.String,
    jobId: Schema.String,
    grantId: Schema.NullOr(Schema.String),
    reason: Schema.String,
    attempts: Schema.Number
  },
  /** A delivery was handed out again after its consumer's lease ran out. */
  Reclaimed: {
    at: Schema.Number,
    target: Schema.String,
    jobId: Schema.String,
    consumer: Schema.String,
    attempt: Schema.Number
  }
})
/** @category models @since 0.1.0 */
export type QueueEvent = typeof QueueEvent.Type
