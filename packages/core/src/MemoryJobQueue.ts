/**
 * The in-memory job queue: the embedded default (one process, state lives as long as the
 * layer). It enforces the same rules as the Redis adapter: one FIFO per target, at most one
 * outstanding delivery per target under a lease with a fencing token, redelivery with
 * `attempt + 1` when a lease expires, dedupe of published job ids, payloads decoded on
 * delivery (a payload that does not decode goes to the dead letters). Time comes from
 * Effect's `Clock`.
 *
 * The same queue with fault injection (duplicates, losses, delays, reordering, corrupt
 * payloads) is `MemoryJobQueueControl.layer` in `@transient-access/core/testing`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { make } from "./internal/memoryJobQueue.ts"
import type * as Internal from "./internal/memoryJobQueue.ts"
import { JobQueue } from "./JobQueue.ts"

/**
 * Options of the in-memory queue: `leaseMs` (how long a delivery holds its target's lease
 * before the job is redelivered, default 30 s) and `pollIntervalMs` (how often `poll` looks
 * again while it waits, default 5 ms of `Clock` time).
 *
 * @category models
 * @since 0.1.0
 */
export type Options = Internal.Options

/**
 * The in-memory queue as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<JobQueue> =>
  Layer.effect(
    JobQueue,
    Effect.map(make(options), ({ queue }) => queue)
  )
