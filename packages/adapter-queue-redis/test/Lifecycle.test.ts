/**
 * Bounded memory and dead letters by attempts: acknowledged entries leave Redis (only the
 * target's fencing counter stays), and a job delivered more than `maxAttempts` times is
 * dead-lettered with an event and an audit record instead of being delivered.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { AuditLog, type Job, JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { RedisJobQueue } from "../src/index.ts"
import * as RedisKeys from "../src/internal/keys.ts"
import { dropPrefix, redactedUrl, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const prefix = uniquePrefix("life")
const client = new Redis(redisUrl ?? "", { lazyConnect: true })

const makeJob = (target: string, index: number): Job.Job => ({
  id: `job_life_${index}` as Job.Job["id"],
  type: "nat.close",
  grantId: `ga_life_${index}` as Job.Job["grantId"],
  generation: 2,
  target,
  createdAt: 1_700_000_000_000 + index
})

const layer = RedisJobQueue.layer({ url: redactedUrl(), prefix, leaseMs: 500, maxAttempts: 3, pollIntervalMs: 10 }).pipe(
  Layer.provideMerge(AuditLog.layerMemory())
)

/** Polls until a delivery of `target` arrives (or 5 s pass). */
const next = (target: string) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue.JobQueue
    const deadline = performance.now() + 5_000
    while (performance.now() < deadline) {
      const found = (yield* queue.poll({ consumer: "c", max: 10, wait: "100 millis" })).find((delivery) => delivery.job.target === target)
      if (found !== undefined) return found
    }
    return undefined
  })

describe.skipIf(unavailableReason !== null)("queue lifecycle", () => {
  afterAll(async () => {
    await dropPrefix(client, prefix)
    client.disconnect()
  })

  it.live("acknowledged entries are deleted: an idle target keeps only its fencing counter", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.JobQueue
      const target = "region:life-trim"
      const jobs = Array.from({ length: 200 }, (_, index) => makeJob(target, index))
      yield* queue.publish(jobs)
      for (let index = 0; index < jobs.length; index++) {
        const delivery = yield* next(target)
        assert.strictEqual(delivery?.job.id, jobs[index]!.id)
        yield* delivery!.ack
      }
      const keys = RedisKeys.targetKeys(prefix, target)
      const exists = yield* Effect.promise(() =>
        Promise.all(RedisKeys.targetKeyList(keys).map(async (key) => [key, await client.exists(key)] as const))
      )
      assert.deepStrictEqual(
        exists.filter(([, present]) => present === 1).map(([key]) => key),
        [keys.fence]
      )
    }).pipe(Effect.provide(layer))
  )

  it.live("a job delivered more than maxAttempts times is dead-lettered, with an event and an audit record", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.JobQueue
      const redis = yield* RedisJobQueue.RedisQueue
      const audit = yield* AuditLog.AuditLog
      const target = "device:life-poison"
      const poison = makeJob(target, 1_000)
      const after = makeJob(target, 1_001)
      yield* queue.publish([poison, after])
      for (let attempt = 1; attempt <= 3; attempt++) {
        const delivery = yield* next(target)
        assert.strictEqual(delivery?.job.id, poison.id)
        assert.strictEqual(delivery?.attempt, attempt)
        yield* delivery!.retry(0)
        // the retry goes behind `after` (delayed delivery re-enters the stream at its tail)
        if (attempt === 1) {
          const other = yield* next(target)
          assert.strictEqual(other?.job.id, after.id)
          yield* other!.ack
        }
      }
      const none = yield* queue.poll({ consumer: "c", max: 10, wait: "300 millis" })
      assert.isFalse(
        none.some((delivery) => delivery.job.target === target),
        "the exhausted job was delivered"
      )
      const letters = (yield* queue.deadLetters).filter((letter) => letter.job?.id === poison.id)
      assert.lengthOf(letters, 1)
      assert.match(letters[0]!.reason, /attempts exceeded/)
      assert.strictEqual(letters[0]!.attempts, 4)
      const events = yield* redis.events
      assert.isTrue(events.some((event) => event._tag === "DeadLettered" && event.jobId === poison.id))
      const records = yield* audit.list({ grantId: poison.grantId })
      assert.isTrue(records.some((record) => record.action === "queue.dead-letter"))
      // republishing (what the outbox does for a job never completed) queues it again
      yield* queue.publish([poison])
      const revived = yield* next(target)
      assert.strictEqual(revived?.job.id, poison.id)
      assert.strictEqual(revived?.attempt, 1)
      yield* revived!.ack
    }).pipe(Effect.provide(layer))
  )

  it.live("the stored payload is exactly the Job: fields outside the schema (a password) never reach Redis", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.JobQueue
      const target = "device:life-secret"
      const job = makeJob(target, 2_000)
      const smuggled = { ...job, password: "hunter2-must-not-leak" } as Job.Job
      yield* queue.publish([smuggled])
      const stored = yield* Effect.promise(() => client.hget(RedisKeys.targetKeys(prefix, target).jobs, job.id))
      assert.deepStrictEqual(JSON.parse(stored ?? "null"), { ...job })
      assert.notInclude(stored ?? "", "hunter2")
      const delivery = yield* next(target)
      assert.deepStrictEqual(delivery?.job, job)
      yield* delivery!.ack
    }).pipe(Effect.provide(layer))
  )

  it.live("a late settle after the lease expired succeeds while no newer lease was taken (fencing token)", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.JobQueue
      const target = "region:life-late"
      const job = makeJob(target, 3_000)
      yield* queue.publish([job])
      const delivery = yield* next(target)
      assert.strictEqual(delivery?.job.id, job.id)
      yield* Effect.sleep("700 millis") // past leaseMs (500), nobody took the target since
      yield* delivery!.ack
      const again = yield* queue.poll({ consumer: "c", max: 10, wait: "700 millis" })
      assert.isFalse(
        again.some((other) => other.job.target === target),
        "an acked job came back"
      )
      const twice = yield* Effect.flip(delivery!.ack)
      assert.strictEqual(twice.reason, "LeaseLost", "a second settle of the same delivery must fail")
    }).pipe(Effect.provide(layer))
  )
})
