/**
 * The contract suite of the `JobQueue` port. Every queue adapter runs it; so does the
 * in-memory queue.
 *
 * ```ts
 * import { JobQueueSuite } from "@transient-access/core/suites"
 * JobQueueSuite.suite("RedisJobQueue", RedisJobQueue.layer(options), { leaseMs: 500 })
 * ```
 *
 * Tests run with the live clock (`it.live`) so real adapters pass too. `layer` is built
 * afresh for every test; every test also uses its own targets and job ids (random suffix),
 * and ignores deliveries of targets it did not publish, so a shared backend is fine.
 * `leaseMs` must be the adapter's lease; keep it short (≤ 1 s) to keep the suite fast.
 *
 * @since 0.1.0
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import { randomToken } from "../internal/randomToken.ts"
import { Job } from "../Job.ts"
import type { JobType } from "../Job.ts"
import { JobQueue } from "../JobQueue.ts"
import type { Delivery } from "../JobQueue.ts"

/**
 * Options of the queue suite.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R> {
  /** The adapter's lease duration in ms. */
  readonly leaseMs: number
  /**
   * Optional probe that corrupts the stored payload of a queued job, so that it no longer
   * decodes. When given, the suite checks that such a job never reaches a consumer and ends
   * up in `deadLetters`.
   */
  readonly corrupt?: (jobId: string) => Effect.Effect<void, unknown, R>
  /** Runs of the concurrent ordering property (default 15). */
  readonly propertyRuns?: number
}

const decodeJob = Schema.decodeUnknownSync(Job)

/** A scope of unique targets and job ids for one test. */
const makeScope = (kind: "region" | "device" = "region") => {
  const token = randomToken(10)
  let counter = 0
  const prefix = `${kind}:jqs-${token}`
  return {
    prefix,
    target: (index: number) => `${prefix}-t${index}`,
    job: (target: string, type: JobType = "nat.open") => {
      counter += 1
      return decodeJob({
        id: `job_${token}_${counter}`,
        type,
        grantId: `ga_${token}_${counter}`,
        generation: counter,
        target,
        createdAt: 1_700_000_000_000 + counter
      })
    },
    owns: (delivery: Delivery) => delivery.job.target.startsWith(`${prefix}-`)
  }
}

/** Polls until `count` deliveries of the scope arrived or `withinMs` passed. */
const collect = Effect.fnUntraced(function* (
  owns: (delivery: Delivery) => boolean,
  consumer: string,
  count: number,
  withinMs: number,
  max = 10
) {
  const queue = yield* JobQueue
  const deadline = (yield* Clock.currentTimeMillis) + withinMs
  const collected: Array<Delivery> = []
  while (collected.length < count) {
    const remaining = deadline - (yield* Clock.currentTimeMillis)
    if (remaining <= 0) break
    const deliveries = yield* queue.poll({ consumer, max, wait: `${Math.min(remaining, 200)} millis` })
    collected.push(...deliveries.filter(owns))
  }
  return collected
})

const ids = (deliveries: ReadonlyArray<Delivery>): Array<string> => deliveries.map((delivery) => delivery.job.id).sort()

/**
 * Registers the `JobQueue` contract tests for an adapter layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = <R = never>(name: string, layer: Layer.Layer<JobQueue | R, unknown>, options: Options<R>): void => {
  const leaseMs = options.leaseMs
  const quietMs = Math.max(100, Math.min(300, Math.floor(leaseMs / 4)))
  const run = <A, E>(effect: Effect.Effect<A, E, JobQueue | R>) => effect.pipe(Effect.provide(layer))

  describe(`${name} (JobQueue contract)`, () => {
    it.live("publish, poll and ack deliver a job once", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* JobQueue
          const scope = makeScope()
          const job = scope.job(scope.target(0))
          yield* queue.publish([job])
          const [delivery, ...extra] = yield* collect(scope.owns, "c1", 1, 5_000)
          assert.isDefined(delivery, "the published job was not delivered")
          if (delivery === undefined) return
          assert.lengthOf(extra, 0)
          assert.deepStrictEqual(delivery.job, job)
          assert.strictEqual(delivery.attempt, 1)
          yield* delivery.ack
          assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0, "an acked job was delivered again")
          const dead = yield* queue.deadLetters
          assert.isFalse(dead.some((letter) => letter.job?.id === job.id))
        })
      )
    )

    it.live("at most one delivery per target is outstanding; a target's jobs come in publication order", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* JobQueue
          const scope = makeScope()
          const first = scope.target(0)
          const second = scope.target(1)
          const jobs = [scope.job(first), scope.job(first), scope.job(first)]
          const other = scope.job(second)
          yield* queue.publish([...jobs, other])
          const initial = yield* collect(scope.owns, "c1", 2, 5_000)
          assert.deepStrictEqual(ids(initial), [jobs[0]?.id, other.id].sort())
          assert.lengthOf(yield* collect(scope.owns, "c2", 1, quietMs), 0, "a leased target delivered a second job")
          for (const [index, expected] of jobs.entries()) {
            const current =
              index === 0 ? initial.find((delivery) => delivery.job.target === first) : (yield* collect(scope.owns, "c1", 1, 5_000))[0]
            assert.isDefined(current, `job ${index} of the target was not delivered`)
            if (current === undefined) return
            assert.deepStrictEqual(current.job, expected)
            yield* current.ack
          }
          const otherDelivery = initial.find((delivery) => delivery.job.target === second)
          if (otherDelivery !== undefined) yield* otherDelivery.ack
          assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0)
        })
      )
    )

    it.live(
      "concurrent consumers keep per-target order and one outstanding delivery per target (property)",
      () =>
        Effect.gen(function* () {
          const context = yield* Effect.context<JobQueue | R>()
          const runOnce = (input: {
            readonly targets: ReadonlyArray<number>
            readonly consumers: number
            readonly max: number
            readonly batches: number
            readonly workMs: ReadonlyArray<number>
          }) =>
            Effect.gen(function* () {
              const queue = yield* JobQueue
              const scope = makeScope(input.targets.length % 2 === 0 ? "region" : "device")
              const jobs = input.targets.map((index) => scope.job(scope.target(index)))
              const published = new Map<string, Array<string>>()
              for (const job of jobs) published.set(job.target, [...(published.get(job.target) ?? []), job.id])
              const acked = new Map<string, Array<string>>()
              const outstanding = new Map<string, number>()
              const violations: Array<string> = []
              let done = 0
              const batchSize = Math.ceil(jobs.length / input.batches)
              const publisher = Effect.gen(function* () {
                for (let start = 0; start < jobs.length; start += batchSize) {
                  yield* queue.publish(jobs.slice(start, start + batchSize))
                  yield* Effect.sleep("1 millis")
                }
              })
              const consumer = (index: number) =>
                Effect.gen(function* () {
                  let turn = 0
                  while (done < jobs.length) {
                    const deliveries = (yield* queue.poll({ consumer: `c${index}`, max: input.max, wait: "20 millis" })).filter(scope.owns)
                    yield* Effect.forEach(
                      deliveries,
                      (delivery) =>
                        Effect.gen(function* () {
                          const target = delivery.job.target
                          const now = (outstanding.get(target) ?? 0) + 1
                          outstanding.set(target, now)
                          if (now > 1) violations.push(`two outstanding deliveries on ${target}`)
                          turn += 1
                          const work = input.workMs[turn % input.workMs.length] ?? 0
                          if (work > 0) yield* Effect.sleep(`${work} millis`)
                          outstanding.set(target, (outstanding.get(target) ?? 1) - 1)
                          acked.set(target, [...(acked.get(target) ?? []), delivery.job.id])
                          done += 1
                          yield* delivery.ack
                        }),
                      { concurrency: "unbounded", discard: true }
                    )
                  }
                })
              const fibers = yield* Effect.forEach(
                Array.from({ length: input.consumers }, (_, index) => index),
                (index) => Effect.forkChild(consumer(index))
              )
              yield* publisher
              const finished = yield* Effect.forEach(fibers, Fiber.join, { discard: true }).pipe(Effect.timeoutOption("20 seconds"))
              yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
              if (finished._tag === "None") violations.push(`only ${done} of ${jobs.length} jobs were acked in 20 s`)
              for (const [target, order] of published) {
                const got = acked.get(target) ?? []
                if (JSON.stringify(got) !== JSON.stringify(order)) {
                  violations.push(`${target}: acked ${JSON.stringify(got)}, published ${JSON.stringify(order)}`)
                }
              }
              const leftovers = yield* collect(scope.owns, "c-final", 1, 50)
              if (leftovers.length > 0) violations.push(`delivered again after every ack: ${ids(leftovers).join(", ")}`)
              return violations
            })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.record({
                  targets: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
                  consumers: fc.integer({ min: 1, max: 4 }),
                  max: fc.integer({ min: 1, max: 3 }),
                  batches: fc.integer({ min: 1, max: 4 }),
                  workMs: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 })
                }),
                async (input) => {
                  const violations = await Effect.runPromiseWith(context)(runOnce(input))
                  if (violations.length > 0) throw new Error(violations.join("\n"))
                }
              ),
              { numRuns: options.propertyRuns ?? 15 }
            )
          )
        }).pipe(Effect.provide(layer)),
      120_000
    )

    it.live("retry(delay) redelivers the job not before the delay, with attempt + 1", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* JobQueue
          const scope = makeScope()
          const job = scope.job(scope.target(0))
          const delayMs = 300
          yield* queue.publish([job])
          const [first] = yield* collect(scope.owns, "c1", 1, 5_000)
          assert.isDefined(first)
          if (first === undefined) return
          const retriedAt = yield* Clock.currentTimeMillis
          yield* first.retry(`${delayMs} millis`)
          const [second] = yield* collect(scope.owns, "c2", 1, 5_000)
          const deliveredAt = yield* Clock.currentTimeMillis
          assert.isDefined(second, "the retried job was not delivered again")
          if (second === undefined) return
          assert.isAtLeast(deliveredAt - retriedAt, delayMs, "the retried job came back before its delay")
          assert.deepStrictEqual(second.job, job)
          assert.strictEqual(second.attempt, 2)
          yield* second.ack
          assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0)
        })
      )
    )

    it.live(
      "an expired lease redelivers the job with attempt + 1; the old consumer's settle is LeaseLost",
      () =>
        run(
          Effect.gen(function* () {
            const queue = yield* JobQueue
            const scope = makeScope()
            const job = scope.job(scope.target(0))
            yield* queue.publish([job])
            const [first] = yield* collect(scope.owns, "dead-consumer", 1, 5_000)
            assert.isDefined(first)
            if (first === undefined) return
            const leasedAt = yield* Clock.currentTimeMillis
            assert.lengthOf(yield* collect(scope.owns, "c2", 1, Math.floor(leaseMs / 4)), 0, "delivered again while the lease was held")
            const untilExpiry = leasedAt + leaseMs - (yield* Clock.currentTimeMillis)
            if (untilExpiry > 0) yield* Effect.sleep(`${untilExpiry} millis`)
            const [second] = yield* collect(scope.owns, "c2", 1, leaseMs * 3 + 2_000)
            assert.isDefined(second, "the job was not redelivered after its lease expired")
            if (second === undefined) return
            assert.deepStrictEqual(second.job, job)
            assert.strictEqual(second.attempt, 2)
            const stale = yield* Effect.flip(first.ack)
            assert.strictEqual(stale.reason, "LeaseLost")
            yield* second.ack
            assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0)
            const dead = yield* queue.deadLetters
            assert.isFalse(dead.some((letter) => letter.job?.id === job.id))
          })
        ),
      30_000
    )

    it.live("deadLetter stops delivery, keeps the job in deadLetters and unblocks the target", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* JobQueue
          const scope = makeScope("device")
          const target = scope.target(0)
          const doomed = scope.job(target, "user.create")
          const next = scope.job(target, "user.remove")
          yield* queue.publish([doomed, next])
          const [first] = yield* collect(scope.owns, "c1", 1, 5_000)
          assert.isDefined(first)
          if (first === undefined) return
          assert.deepStrictEqual(first.job, doomed)
          const reason = `rejected by test ${doomed.id}`
          yield* first.deadLetter(reason)
          const [second] = yield* collect(scope.owns, "c1", 1, 5_000)
          assert.isDefined(second, "the next job of the target was not delivered after a dead letter")
          if (second === undefined) return
          assert.deepStrictEqual(second.job, next)
          yield* second.ack
          assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0, "a dead-lettered job was delivered again")
          const letters = (yield* queue.deadLetters).filter((letter) => letter.job?.id === doomed.id)
          assert.lengthOf(letters, 1)
          assert.deepStrictEqual(letters[0]?.job, doomed)
          assert.strictEqual(letters[0]?.reason, reason)
          assert.strictEqual(letters[0]?.attempts, 1)
        })
      )
    )

    it.live("publishing the same job id twice while it is queued delivers it once", () =>
      run(
        Effect.gen(function* () {
          const queue = yield* JobQueue
          const scope = makeScope()
          const job = scope.job(scope.target(0))
          const later = scope.job(scope.target(0))
          yield* queue.publish([job, job])
          yield* queue.publish([job, later])
          const delivered: Array<string> = []
          for (;;) {
            const [delivery] = yield* collect(scope.owns, "c1", 1, delivered.length < 2 ? 5_000 : quietMs)
            if (delivery === undefined) break
            delivered.push(delivery.job.id)
            yield* delivery.ack
          }
          assert.deepStrictEqual(delivered, [job.id, later.id])
        })
      )
    )

    const corrupt = options.corrupt
    if (corrupt !== undefined) {
      it.live("a payload that does not decode never reaches a consumer and becomes a dead letter", () =>
        run(
          Effect.gen(function* () {
            const queue = yield* JobQueue
            const scope = makeScope()
            const target = scope.target(0)
            const broken = scope.job(target)
            const healthy = scope.job(target)
            const deadBefore = (yield* queue.deadLetters).length
            yield* queue.publish([broken, healthy])
            yield* corrupt(broken.id)
            const [delivery, ...extra] = yield* collect(scope.owns, "c1", 1, 5_000)
            assert.isDefined(delivery, "the job after a corrupt one was not delivered")
            if (delivery === undefined) return
            assert.lengthOf(extra, 0)
            assert.deepStrictEqual(delivery.job, healthy)
            yield* delivery.ack
            assert.lengthOf(yield* collect(scope.owns, "c1", 1, quietMs), 0)
            const dead = yield* queue.deadLetters
            assert.isAbove(dead.length, deadBefore, "the corrupt payload is not in deadLetters")
            assert.isFalse(dead.some((letter) => letter.job?.id === healthy.id))
          })
        )
      )
    }
  })
}
