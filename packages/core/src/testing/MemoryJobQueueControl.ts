/**
 * The in-memory job queue with its fault controls, for tests: `layer` provides `JobQueue`
 * and `MemoryJobQueueControl` over one state; the control injects the faults a real queue
 * may show — duplicates, losses, delays, reordering, corrupt payloads — and lists what is
 * still pending. The embedded default without controls is `MemoryJobQueue.layer`.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Internal from "../internal/memoryJobQueue.ts"
import { MemoryJobQueueControl } from "../internal/memoryJobQueue.ts"
import type { Options } from "../internal/memoryJobQueue.ts"
import { JobQueue } from "../JobQueue.ts"

/**
 * Builds an in-memory queue and its control. State lives as long as the returned values.
 *
 * @category testing
 * @since 0.2.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<{
  readonly queue: JobQueue["Service"]
  readonly control: MemoryJobQueueControl["Service"]
}> => Internal.make(options)

export {
  /**
   * Fault injection and inspection for the in-memory queue.
   *
   * @category testing
   * @since 0.2.0
   */
  MemoryJobQueueControl
} from "../internal/memoryJobQueue.ts"
/**
 * One queued job as the control sees it.
 *
 * @category models
 * @since 0.2.0
 */
export type PendingJob = Internal.PendingJob

/**
 * Where a queued job stands.
 *
 * @category models
 * @since 0.2.0
 */
export type PendingStatus = Internal.PendingStatus

/**
 * The in-memory queue as a layer: `JobQueue` and its `MemoryJobQueueControl`, sharing one state.
 *
 * @category testing
 * @since 0.2.0
 */
export const layer = (options: Options = {}): Layer.Layer<JobQueue | MemoryJobQueueControl> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, queue }) => Context.make(JobQueue, queue).pipe(Context.add(MemoryJobQueueControl, control)))
  )
