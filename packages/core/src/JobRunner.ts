/**
 * The job runner: takes deliveries from the queue, executes them and settles them.
 *
 * - `Done` → ack, and the job leaves the outbox.
 * - `Retry` → redelivered after an exponential, jittered delay. A create that keeps
 *   failing past `provisionAttempts` is compensated (the grant is revoked as `failed`); a
 *   remove that keeps failing past `stuckAfterAttempts` flags the grant `revokeStuck`
 *   (audited, visible in stats) and is retried forever.
 * - `Failed` → a create is compensated at once; a remove is retried anyway (removal never
 *   gives up).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import { EngineConfig } from "./EngineConfig.ts"
import type { EngineSettings } from "./EngineConfig.ts"
import { execute } from "./internal/executor/execute.ts"
import type { Outcome } from "./internal/executor/execute.ts"
import { GrantStore } from "./GrantStore.ts"
import { JobQueue } from "./JobQueue.ts"
import type { Delivery } from "./JobQueue.ts"
import * as Lifecycle from "./Lifecycle.ts"

const isCreate = (type: string) => type === "nat.open" || type === "user.create" || type === "forward.open"

/**
 * The redelivery delay after `attempt` failed runs: `retryBaseMs · 2^(attempt-1)`, capped
 * at `retryMaxMs`, with "equal jitter" (uniform in [d/2, d]).
 *
 * @category constructors
 * @since 0.1.0
 */
export const retryDelay = (settings: EngineSettings, attempt: number) =>
  Effect.gen(function* () {
    const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempt - 1, 30))
    const jitter = yield* Random.next
    return Math.round(ceiling / 2 + (ceiling / 2) * jitter)
  })

/** In-run retries of store hiccups before the delivery is handed back to the queue. */
const storeRetry = Schedule.exponential("50 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 3 }))

/**
 * Executes one delivery and settles it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const handle = Effect.fn("JobRunner.handle")(function* (delivery: Delivery) {
  const settings = yield* EngineConfig
  const store = yield* GrantStore
  const job = delivery.job
  const outcome: Outcome = yield* execute(job).pipe(
    Effect.retry(storeRetry),
    Effect.catch((error) => Effect.succeed<Outcome>({ _tag: "Retry", reason: `${error._tag}: ${error.message}` }))
  )
  if (outcome._tag === "Done") {
    yield* store.completeJobs([job.id]).pipe(Effect.ignore)
    return yield* delivery.ack
  }
  if (isCreate(job.type) && (outcome._tag === "Failed" || delivery.attempt >= settings.provisionAttempts)) {
    const revoked = yield* Effect.result(
      Lifecycle.provisionFailed(job.grantId, { job: job.type, attempts: delivery.attempt, reason: outcome.reason })
    )
    if (revoked._tag === "Failure" && revoked.failure._tag === "StoreError") {
      return yield* delivery.retry(yield* retryDelay(settings, delivery.attempt))
    }
    yield* store.completeJobs([job.id]).pipe(Effect.ignore)
    return yield* delivery.ack
  }
  if (!isCreate(job.type)) {
    yield* Lifecycle.recordRemovalFailure(job.grantId, {
      job: job.type,
      reason: outcome.reason,
      stuckAfterAttempts: settings.stuckAfterAttempts
    }).pipe(Effect.ignore)
  }
  return yield* delivery.retry(yield* retryDelay(settings, delivery.attempt))
})

/**
 * Polls once and handles every delivery concurrently (one per target); returns how many
 * were handled.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runOnce = Effect.fn("JobRunner.runOnce")(function* (options: {
  readonly consumer: string
  readonly max?: number
  readonly wait?: number
}) {
  const queue = yield* JobQueue
  const settings = yield* EngineConfig
  const deliveries = yield* queue.poll({
    consumer: options.consumer,
    max: options.max ?? settings.jobConcurrency,
    ...(options.wait !== undefined ? { wait: options.wait } : {})
  })
  yield* Effect.forEach(
    deliveries,
    (delivery) =>
      handle(delivery).pipe(Effect.catchCause((cause) => Effect.logError("job handling failed; the queue will redeliver", cause))),
    { concurrency: "unbounded", discard: true }
  )
  return deliveries.length
})

/**
 * Runs jobs until interrupted, up to `jobConcurrency` at once. Each delivery is handled in
 * its own fiber and the runner polls again as soon as a slot is free, so a slow job (an
 * unreachable router, a pull device waiting for its check-in) delays only its own target,
 * never the others.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runContinuously = Effect.fn("JobRunner.runContinuously")(function* (options: {
  readonly consumer: string
  /** How long one poll waits for work (default 200 ms). */
  readonly wait?: number
}) {
  const queue = yield* JobQueue
  const settings = yield* EngineConfig
  let inFlight = 0
  while (true) {
    const free = settings.jobConcurrency - inFlight
    if (free <= 0) {
      yield* Effect.sleep(10)
      continue
    }
    const polled = yield* Effect.result(queue.poll({ consumer: options.consumer, max: free, wait: options.wait ?? 200 }))
    if (polled._tag === "Failure") {
      yield* Effect.logWarning("job runner: poll failed; retrying", polled.failure)
      yield* Effect.sleep(500)
      continue
    }
    if (polled.success.length === 0) {
      yield* Effect.sleep(20)
      continue
    }
    for (const delivery of polled.success) {
      inFlight++
      yield* Effect.forkChild(
        handle(delivery).pipe(
          Effect.catchCause((cause) => Effect.logError("job handling failed; the queue will redeliver", cause)),
          Effect.ensuring(
            Effect.sync(() => {
              inFlight--
            })
          )
        )
      )
    }
  }
})
