/**
 * Restart test on a redis-server of our own (AOF on, `appendfsync always`):
 * - SIGKILL + restart with jobs queued (one of them in flight): none is lost, each target's
 *   jobs still come in order;
 * - data wiped (FLUSHALL): the store's outbox (core `MemoryGrantStore` + `OutboxRelay`)
 *   republishes every job that was not completed, and delivery resumes.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { EngineConfig, GrantStore, Job, JobQueue, MemoryGrantStore, OutboxRelay } from "@transient-access/core"
import { Fixtures } from "@transient-access/core/testing"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { Redis } from "ioredis"
import { RedisJobQueue } from "../src/index.ts"
import { ownServer, redisServerBinary } from "./utils.ts"
import type { OwnServer } from "./utils.ts"

if (!redisServerBinary && process.env["CI"] === "true") throw new Error("CI=true and redis-server is not installed")

const leaseMs = 800

/** Polls and acks until `count` deliveries arrived or `withinMs` passed; returns job ids per target. */
const drain = (count: number, withinMs: number, onDelivered: (job: Job.Job) => Effect.Effect<void> = () => Effect.void) =>
  Effect.gen(function* () {
    const queue = yield* JobQueue.JobQueue
    const byTarget = new Map<string, Array<string>>()
    let total = 0
    const deadline = performance.now() + withinMs
    while (total < count && performance.now() < deadline) {
      const deliveries = yield* queue
        .poll({ consumer: "drainer", max: 16, wait: "100 millis" })
        .pipe(Effect.catchTag("QueueError", (error) => (error.reason === "Unavailable" ? Effect.succeed([]) : Effect.fail(error))))
      for (const delivery of deliveries) {
        byTarget.set(delivery.job.target, [...(byTarget.get(delivery.job.target) ?? []), delivery.job.id])
        total += 1
        yield* onDelivered(delivery.job)
        yield* delivery.ack
      }
    }
    return byTarget
  })

const makeJob = (target: string, index: number): Job.Job => ({
  id: `job_restart_${index}` as Job.Job["id"],
  type: "nat.open",
  grantId: `ga_restart_${index}` as Job.Job["grantId"],
  generation: 1,
  target,
  createdAt: 1_700_000_000_000 + index
})

describe.skipIf(!redisServerBinary)("Redis restarts", () => {
  let server: OwnServer
  beforeAll(async () => {
    server = await ownServer(["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"])
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it.live(
    "SIGKILL and restart with jobs queued (one in flight): none lost, order kept",
    () =>
      Effect.gen(function* () {
        const queue = yield* JobQueue.JobQueue
        const targets = ["region:a", "region:b", "device:c", "device:d", "device:e"]
        const jobs = Array.from({ length: 50 }, (_, index) => makeJob(targets[index % targets.length]!, index))
        yield* queue.publish(jobs)
        const [inFlight] = yield* queue.poll({ consumer: "doomed", max: 1 })
        assert.isDefined(inFlight)
        yield* Effect.promise(() => server.kill())
        yield* Effect.promise(() => server.start())
        const delivered = yield* drain(jobs.length, 20_000)
        for (const target of targets) {
          const expected = jobs.filter((job) => job.target === target).map((job) => job.id)
          assert.deepStrictEqual(delivered.get(target), expected, `jobs of ${target} lost or out of order`)
        }
      }).pipe(
        Effect.provide(RedisJobQueue.layer({ url: Redacted.make(server.url), prefix: "tq-restart", leaseMs })),
        Effect.ensuring(
          Effect.promise(async () => {
            const client = new Redis(server.url)
            await client.flushall()
            client.disconnect()
          })
        )
      ),
    60_000
  )

  it.live(
    "data wiped (FLUSHALL): the outbox republishes and delivery resumes",
    () =>
      Effect.gen(function* () {
        const store = yield* GrantStore.GrantStore
        const grants = Array.from({ length: 10 }, () => Fixtures.makeTestGrant())
        for (const grant of grants) {
          yield* store.insert({
            grant,
            deviceSecret: Option.none(),
            jobs: (inserted) => Job.provisionJobs(inserted, inserted.createdAt),
            idempotency: Option.none()
          })
        }
        const published = yield* OutboxRelay.relayOnce()
        assert.strictEqual(published, grants.length * 2)
        yield* Effect.promise(async () => {
          const client = new Redis(server.url)
          await client.flushall()
          client.disconnect()
        })
        const queue = yield* JobQueue.JobQueue
        assert.lengthOf(yield* queue.poll({ consumer: "drainer", max: 16, wait: "200 millis" }), 0, "Redis kept data")
        const republished = yield* OutboxRelay.relayOnce()
        assert.strictEqual(republished, grants.length * 2, "the outbox did not republish the lost jobs")
        const delivered = yield* drain(grants.length * 2, 10_000, (job) => Effect.orDie(store.completeJobs([job.id])))
        const ids = [...delivered.values()].flat().sort()
        const stats = yield* store.stats
        assert.lengthOf(ids, grants.length * 2)
        assert.strictEqual(stats.outboxPending, 0, "completed jobs stayed in the outbox")
      }).pipe(
        Effect.provide(RedisJobQueue.layer({ url: Redacted.make(server.url), prefix: "tq-flush", leaseMs })),
        Effect.provide(MemoryGrantStore.layerEphemeral),
        Effect.provideService(EngineConfig.EngineConfig, EngineConfig.make({ republishAfterMs: 0 }))
      ),
    60_000
  )

  it.live(
    "while Redis is down, publish and poll fail with QueueError Unavailable; after the restart they work",
    () =>
      Effect.gen(function* () {
        const queue = yield* JobQueue.JobQueue
        const job = makeJob("region:down", 999)
        yield* Effect.promise(() => server.kill())
        const publishError = yield* Effect.flip(queue.publish([job]))
        assert.strictEqual(publishError.reason, "Unavailable")
        const pollError = yield* Effect.flip(queue.poll({ consumer: "drainer", max: 1 }))
        assert.strictEqual(pollError.reason, "Unavailable")
        yield* Effect.promise(() => server.start())
        yield* queue.publish([job]).pipe(Effect.retry({ times: 20, schedule: Schedule.spaced("100 millis") }))
        const delivered = yield* drain(1, 10_000)
        assert.deepStrictEqual(delivered.get("region:down"), [job.id])
      }).pipe(Effect.provide(RedisJobQueue.layer({ url: Redacted.make(server.url), prefix: "tq-down", leaseMs }))),
    60_000
  )
})
