/**
 * Pull mode: a device check-in reads its target's jobs in order under the target's lease
 * and acknowledges the ones it applied; corrupt payloads are dead-lettered, never returned.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Job, JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { RedisJobQueue } from "../src/index.ts"
import { corruptPayload, dropPrefix, redactedUrl, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const prefix = uniquePrefix("pull")
const leaseMs = 500

const makeJob = (target: string, index: number): Job.Job => ({
  id: `job_pull_${target.replace(/\W/g, "_")}_${index}` as Job.Job["id"],
  type: index % 2 === 0 ? "user.create" : "user.remove",
  grantId: `ga_pull_${index}` as Job.Job["grantId"],
  generation: index,
  target,
  createdAt: 1_700_000_000_000 + index
})

const layer = RedisJobQueue.layer({ url: redactedUrl(), prefix, leaseMs, pollIntervalMs: 10 })

describe.skipIf(unavailableReason !== null)("pull mode (device check-in)", () => {
  afterAll(async () => {
    const client = new Redis(redisUrl ?? "")
    await dropPrefix(client, prefix)
    client.disconnect()
  })

  it.live("a check-in reads the target's jobs in order and acks the applied ones", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue.JobQueue
      const redis = yield* RedisJobQueue.RedisQueue
      const target = "device:pull-1"
      const jobs = [1, 2, 3, 4].map((index) => makeJob(target, index))
      yield* queue.publish(jobs)
      const batch = yield* redis.checkIn(target, { consumer: "checkin", max: 3 })
      assert.deepStrictEqual(batch.jobs.map((entry) => entry.job), jobs.slice(0, 3))
      // While the check-in holds the lease, neither workers nor another check-in get the target.
      const busy = yield* redis.checkIn(target, { consumer: "other", max: 10 })
      assert.lengthOf(busy.jobs, 0)
      const polled = yield* queue.poll({ consumer: "worker", max: 10 })
      assert.isFalse(polled.some((delivery) => delivery.job.target === target))
      // The device applied the first two only.
      yield* batch.ack([jobs[0]!.id, jobs[1]!.id])
      yield* Effect.sleep(`${leaseMs + 100} millis`)
      const next = yield* redis.checkIn(target, { consumer: "checkin", max: 10 })
      assert.deepStrictEqual(next.jobs.map((entry) => entry.job.id), [jobs[2]!.id, jobs[3]!.id])
      assert.deepStrictEqual(next.jobs.map((entry) => entry.attempt), [2, 1])
      yield* next.ack(next.jobs.map((entry) => entry.job.id))
      const empty = yield* redis.checkIn(target, { consumer: "checkin", max: 10 })
      assert.lengthOf(empty.jobs, 0)
    }).pipe(Effect.provide(layer)))

  it.live("a corrupt payload is dead-lettered at check-in, the others are returned", () =>
    Effect.gen(function*() {
      const queue = yield* JobQueue.JobQueue
      const redis = yield* RedisJobQueue.RedisQueue
      const target = "device:pull-2"
      const jobs = [1, 2, 3].map((index) => makeJob(target, index))
      yield* queue.publish(jobs)
      yield* corruptPayload(prefix)(jobs[1]!.id)
      const batch = yield* redis.checkIn(target, { consumer: "checkin", max: 10 })
      assert.deepStrictEqual(batch.jobs.map((entry) => entry.job.id), [jobs[0]!.id, jobs[2]!.id])
      yield* batch.ack(batch.jobs.map((entry) => entry.job.id))
      const letters = yield* queue.deadLetters
      const letter = letters.find((candidate) => candidate.reason.startsWith("corrupt") && candidate.job === null)
      assert.isDefined(letter)
      const events = yield* redis.events
      assert.isTrue(events.some((event) => event._tag === "DeadLettered" && event.jobId === jobs[1]!.id))
      const empty = yield* redis.checkIn(target, { consumer: "checkin", max: 10 })
      assert.lengthOf(empty.jobs, 0)
    }).pipe(Effect.provide(layer)))
})
