/**
 * `poll`: finds targets with due work in the ready set, takes their leases and turns the
 * taken entries into deliveries (dead-lettering payloads that fail decoding).
 *
 * @since 0.1.0
 */
import type { JobQueue } from "@transient-access/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { Engine } from "./Engine.ts"
import type { TakenEntry } from "./replies.ts"

const toDelivery = (
  engine: Engine,
  target: string,
  token: string,
  entry: TakenEntry,
  job: JobQueue.Delivery["job"]
): JobQueue.Delivery => ({
  job,
  attempt: entry.attempt,
  ack: engine.settle(target, token, [{ mode: "ack", entry }], true),
  retry: (delay) =>
    engine.settle(target, token, [{ mode: "retry", entry, delayMs: Duration.toMillis(Duration.fromInputUnsafe(delay)) }], true),
  deadLetter: (reason) => engine.settle(target, token, [{ mode: "dead", entry, reason }], true)
})

/** What polling found out about one target: its new ready-set entry and maybe a delivery. */
interface Outcome {
  readonly resolve: readonly [string, string, number]
  readonly delivery: JobQueue.Delivery | null
}

/** Takes one target: a delivery or nothing, and when the target may have work next. */
const takeOne = Effect.fnUntraced(function* (
  engine: Engine,
  consumer: string,
  candidate: { readonly target: string; readonly version: string }
) {
  const { target, version } = candidate
  const outcome = (wakeAt: number, delivery: JobQueue.Delivery | null = null): Outcome => ({
    resolve: [target, version, wakeAt],
    delivery
  })
  // Rejected (corrupt or exhausted) entries are dead-lettered and the next one is taken.
  while (true) {
    const taken = yield* engine.take(target, consumer, 1)
    if (taken._tag === "Idle") return outcome(-1)
    if (taken._tag === "Later") return outcome(taken.wakeAt)
    const entry = taken.entries[0]
    if (entry === undefined) return outcome(taken.leaseUntil)
    const checked = engine.check(target, entry)
    if (checked._tag === "Reject") {
      yield* engine.settle(target, taken.token, [{ mode: "dead", entry, reason: checked.reason }], true)
      continue
    }
    if (entry.reclaimed) {
      yield* engine.emit({
        _tag: "Reclaimed",
        at: yield* Clock.currentTimeMillis,
        target,
        jobId: entry.jobId,
        consumer,
        attempt: entry.attempt
      })
    }
    return outcome(taken.leaseUntil, toDelivery(engine, target, taken.token, entry, checked.job))
  }
})

/** One pass over the due targets, taking at most `max` deliveries. */
const pollOnce = Effect.fnUntraced(function* (engine: Engine, consumer: string, max: number) {
  // Consumers read the same oldest candidates; shuffling spreads them over the targets.
  const found = yield* Random.shuffle(yield* engine.candidates(max * 4 + 8))
  const deliveries: Array<JobQueue.Delivery> = []
  let next = 0
  while (deliveries.length < max && next < found.length) {
    const batch = found.slice(next, next + (max - deliveries.length))
    next += batch.length
    const outcomes = yield* Effect.forEach(batch, (candidate) => takeOne(engine, consumer, candidate), {
      concurrency: "unbounded"
    })
    yield* engine.resolve(outcomes.map((outcome) => outcome.resolve))
    for (const outcome of outcomes) if (outcome.delivery !== null) deliveries.push(outcome.delivery)
  }
  return deliveries
})

/**
 * The port's `poll`: passes over the ready set until a delivery is found or `wait` ran
 * out (real time; Redis's clock decides what is due).
 *
 * @category constructors
 * @since 0.1.0
 */
export const poll = (engine: Engine) =>
  Effect.fnUntraced(function* (options: { readonly consumer: string; readonly max: number; readonly wait?: Duration.Input }) {
    const max = Math.max(0, Math.floor(options.max))
    if (max === 0) return []
    const waitMs = options.wait === undefined ? 0 : Duration.toMillis(Duration.fromInputUnsafe(options.wait))
    const deadline = performance.now() + waitMs
    while (true) {
      const deliveries = yield* pollOnce(engine, options.consumer, max)
      const remaining = deadline - performance.now()
      if (deliveries.length > 0 || remaining <= 0) return deliveries
      yield* engine.sleepOrWake(Math.min(engine.settings.pollIntervalMs, remaining))
    }
  })
