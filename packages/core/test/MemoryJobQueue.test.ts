/**
 * The in-memory queue: the shared contract suite, then its fault controls and lease fences
 * under `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Job } from "../src/Job.ts"
import { JobQueue } from "../src/JobQueue.ts"
import * as MemoryJobQueue from "../src/testing/MemoryJobQueueControl.ts"
import { MemoryJobQueueControl } from "../src/testing/MemoryJobQueueControl.ts"
import * as JobQueueSuite from "../src/suites/JobQueueSuite.ts"

JobQueueSuite.suite("MemoryJobQueue", MemoryJobQueue.layer({ leaseMs: 400 }), {
  leaseMs: 400,
  corrupt: (jobId) => MemoryJobQueueControl.use((control) => control.corrupt(jobId))
})

const decodeJob = Schema.decodeUnknownSync(Job)
const job = (n: number, target = "region:r1") =>
  decodeJob({ id: `job_${n}`, type: "nat.open", grantId: `ga_${n}`, generation: 1, target, createdAt: 0 })

const provide = <A, E>(effect: Effect.Effect<A, E, JobQueue | MemoryJobQueueControl>, leaseMs = 1_000) =>
  effect.pipe(Effect.provide(MemoryJobQueue.layer({ leaseMs })))

/** Polls once (no wait) and acks everything, returning the delivered job ids in order. */
const drainOnce = Effect.gen(function* () {
  const queue = yield* JobQueue
  const deliveries = yield* queue.poll({ consumer: "drain", max: 100 })
  yield* Effect.forEach(deliveries, (delivery) => delivery.ack, { discard: true })
  return deliveries.map((delivery) => delivery.job.id)
})

/** Drains the queue completely (no time passes), returning the ids in delivery order. */
const drainAll = Effect.gen(function* () {
  const all: Array<string> = []
  for (;;) {
    const ids = yield* drainOnce
    if (ids.length === 0) return all
    all.push(...ids)
  }
})

describe("MemoryJobQueue leases (TestClock)", () => {
  it.effect("a settle after the lease expired is LeaseLost and changes nothing, even before redelivery", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* queue.publish([job(1)])
        const [delivery] = yield* queue.poll({ consumer: "a", max: 1 })
        assert.isDefined(delivery)
        if (delivery === undefined) return
        yield* TestClock.adjust("1 second")
        const lost = yield* Effect.flip(delivery.ack)
        assert.strictEqual(lost.reason, "LeaseLost")
        assert.strictEqual(yield* control.size, 1)
        const retried = yield* Effect.flip(delivery.retry("1 second"))
        assert.strictEqual(retried.reason, "LeaseLost")
        const [again] = yield* queue.poll({ consumer: "b", max: 1 })
        assert.strictEqual(again?.attempt, 2)
        assert.strictEqual(again?.job.id, "job_1")
      })
    )
  )

  it.effect("a double settle is LeaseLost", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        yield* queue.publish([job(1), job(2)])
        const [delivery] = yield* queue.poll({ consumer: "a", max: 1 })
        if (delivery === undefined) return assert.fail("not delivered")
        yield* delivery.ack
        const [next] = yield* queue.poll({ consumer: "a", max: 1 })
        assert.strictEqual(next?.job.id, "job_2")
        const second = yield* Effect.flip(delivery.deadLetter("late"))
        assert.strictEqual(second.reason, "LeaseLost")
        assert.lengthOf(yield* queue.deadLetters, 0)
      })
    )
  )

  it.effect("retry keeps the job at the head of its target until the delay passed", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        yield* queue.publish([job(1), job(2), job(3, "region:r2")])
        const first = yield* queue.poll({ consumer: "a", max: 10 })
        assert.deepStrictEqual(first.map((d) => d.job.id).sort(), ["job_1", "job_3"])
        const head = first.find((d) => d.job.id === "job_1")
        yield* head!.retry("10 seconds")
        yield* first.find((d) => d.job.id === "job_3")!.ack
        assert.lengthOf(yield* queue.poll({ consumer: "a", max: 10 }), 0)
        yield* TestClock.adjust("9999 millis")
        assert.lengthOf(yield* queue.poll({ consumer: "a", max: 10 }), 0)
        yield* TestClock.adjust("1 millis")
        const [again] = yield* queue.poll({ consumer: "a", max: 10 })
        assert.strictEqual(again?.job.id, "job_1")
        assert.strictEqual(again?.attempt, 2)
      })
    )
  )

  it.effect("poll waits on the Clock for a job published meanwhile", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const fiber = yield* Effect.forkChild(queue.poll({ consumer: "a", max: 1, wait: "1 second" }))
        yield* TestClock.adjust("100 millis")
        yield* queue.publish([job(1)])
        yield* TestClock.adjust("100 millis")
        const deliveries = yield* Fiber.join(fiber)
        assert.deepStrictEqual(
          deliveries.map((d) => d.job.id),
          ["job_1"]
        )
      })
    )
  )

  it.effect("a republish while leased is deduplicated; after the ack it is a new delivery", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        yield* queue.publish([job(1)])
        const [delivery] = yield* queue.poll({ consumer: "a", max: 1 })
        yield* queue.publish([job(1)])
        yield* delivery!.ack
        assert.deepStrictEqual(yield* drainAll, [])
        yield* queue.publish([job(1)])
        assert.deepStrictEqual(yield* drainAll, ["job_1"])
      })
    )
  )
})

describe("MemoryJobQueue faults", () => {
  it.effect("duplicateNext enqueues the next jobs twice", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* control.duplicateNext(1)
        yield* queue.publish([job(1), job(2)])
        assert.strictEqual(yield* control.size, 3)
        assert.deepStrictEqual(yield* drainAll, ["job_1", "job_1", "job_2"])
      })
    )
  )

  it.effect("dropNext loses the next jobs; a republish delivers them", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* control.dropNext(2)
        yield* queue.publish([job(1), job(2), job(3)])
        assert.deepStrictEqual(yield* drainAll, ["job_3"])
        yield* queue.publish([job(1), job(2)])
        assert.deepStrictEqual(yield* drainAll, ["job_1", "job_2"])
      })
    )
  )

  it.effect("delayNext lets later jobs overtake until the delay passed", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* control.delayNext(1, "5 seconds")
        yield* queue.publish([job(1), job(2)])
        const pending = yield* control.pending
        assert.deepStrictEqual(
          pending.map((p) => [p.jobId, p.status]),
          [
            ["job_2", "ready"],
            ["job_1", "inTransit"]
          ]
        )
        assert.deepStrictEqual(yield* drainAll, ["job_2"])
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(yield* drainAll, ["job_1"])
      })
    )
  )

  it.effect("a delayed duplicate of a job that is still queued is deduplicated on arrival", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* control.delayNext(1, "1 second")
        yield* queue.publish([job(1)])
        yield* queue.publish([job(1)])
        yield* TestClock.adjust("1 second")
        assert.strictEqual(yield* control.size, 1)
      })
    )
  )

  it.effect("reorder delivers the job the seeded chooser picks; each job still exactly once", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 12 }), async (choices, count) => {
          let turn = 0
          const chooser = (max: number) => (choices[turn++ % choices.length] ?? 0) % max
          const delivered = await Effect.runPromise(
            provide(
              Effect.gen(function* () {
                const queue = yield* JobQueue
                const control = yield* MemoryJobQueueControl
                yield* control.reorder(chooser)
                yield* queue.publish(Array.from({ length: count }, (_, index) => job(index)))
                return yield* drainAll
              })
            )
          )
          const expected = Array.from({ length: count }, (_, index) => `job_${index}`)
          assert.deepStrictEqual([...delivered].sort(), [...expected].sort())
          if (choices.every((choice) => choice === 0)) assert.deepStrictEqual(delivered, expected)
        }),
        { numRuns: 100 }
      )
    )
  )

  it.effect("reorder with a non-zero choice really reorders; clearFaults restores FIFO", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* control.reorder((max) => max - 1)
        yield* queue.publish([job(1), job(2), job(3)])
        assert.deepStrictEqual(yield* drainAll, ["job_3", "job_2", "job_1"])
        yield* control.clearFaults
        yield* queue.publish([job(4), job(5)])
        assert.deepStrictEqual(yield* drainAll, ["job_4", "job_5"])
      })
    )
  )

  it.effect("a corrupted payload is dead-lettered with job null, never delivered", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        yield* queue.publish([job(1), job(2)])
        yield* control.corrupt("job_1")
        const pending = yield* control.pending
        assert.deepStrictEqual(
          pending.map((p) => p.job?.id ?? null),
          [null, "job_2"]
        )
        assert.deepStrictEqual(yield* drainAll, ["job_2"])
        const [letter] = yield* queue.deadLetters
        assert.strictEqual(letter?.job, null)
        assert.include(letter?.reason ?? "", "job_1")
      })
    )
  )

  it.effect("publish refuses a batch with an invalid job whole", () =>
    provide(
      Effect.gen(function* () {
        const queue = yield* JobQueue
        const control = yield* MemoryJobQueueControl
        const invalid = { ...job(2), target: "nowhere" } as Job
        const error = yield* Effect.flip(queue.publish([job(1), invalid]))
        assert.strictEqual(error.reason, "Corrupt")
        assert.strictEqual(yield* control.size, 0)
      })
    )
  )
})
