/**
 * The outbox relay: publishes outbox jobs to the queue and records the publication.
 *
 * Jobs stay in the outbox until an executor completes them; jobs published but not
 * completed within `republishAfterMs` are published again, so a queue that loses data
 * (even all of it) only delays work. Several relays may run at once (the store hands each
 * job to one taker at a time).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { EngineConfig } from "./EngineConfig.ts"
import { GrantStore } from "./GrantStore.ts"
import { JobQueue } from "./JobQueue.ts"

/**
 * Publishes one batch; returns how many jobs it published.
 *
 * @category constructors
 * @since 0.1.0
 */
export const relayOnce = Effect.fn("OutboxRelay.relayOnce")(function* (limit = 500) {
  const store = yield* GrantStore
  const queue = yield* JobQueue
  const settings = yield* EngineConfig
  const entries = yield* store.takeOutbox({ limit, republishAfterMs: settings.republishAfterMs })
  if (entries.length === 0) return 0
  yield* queue.publish(entries.map((entry) => entry.job))
  yield* store.markPublished(entries.map((entry) => entry.job.id))
  return entries.length
})
