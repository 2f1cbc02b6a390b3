/**
 * Queue benchmark on the real Redis server: jobs per second enqueue → execute → ack, and
 * p50/p99 latency from publish to ack, beside a floor measured in the same run — bare
 * `XADD` + `XREADGROUP` + `XACK` on plain streams with the same jobs, targets and consumers,
 * without leases, ordering, de-duplication, retries or dead letters.
 *
 * Two phases per subject: a backlog (publish everything, then drain: throughput) and a
 * paced run (a steady publish rate well below capacity: latency). Consumers run in this
 * process (4 fibers, up to 16 deliveries each), the executor does nothing.
 *
 * Server: TA_BENCH_REDIS_URL, else TA_TEST_REDIS_URL, else redis://127.0.0.1:56379
 * (`eval "$(scripts/services.sh)"`). Keys use a random prefix and are deleted afterwards.
 * Run: `pnpm bench adapter-queue-redis` or `node packages/adapter-queue-redis/bench/queue.bench.ts`.
 */
import { JobQueue } from "@transient-access/core"
import type { Job } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { Redis } from "ioredis"
import { randomBytes } from "node:crypto"
import { RedisJobQueue } from "../src/index.ts"

const url = process.env["TA_BENCH_REDIS_URL"] ?? process.env["TA_TEST_REDIS_URL"] ?? "redis://127.0.0.1:56379"
const jobsTotal = Number(process.env["TA_BENCH_JOBS"] ?? 5_000)
const targets = Number(process.env["TA_BENCH_TARGETS"] ?? 100)
const consumers = 4
const batch = 16
const pacedJobs = Number(process.env["TA_BENCH_PACED_JOBS"] ?? 2_000)
const pacedRate = Number(process.env["TA_BENCH_PACED_RATE"] ?? 500)
const prefix = `bench-${randomBytes(4).toString("hex")}`

interface Result {
  readonly jobsPerSecond: number
  readonly p50: number
  readonly p99: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

const summarize = (count: number, elapsedMs: number, latencies: Array<number>): Result => {
  latencies.sort((left, right) => left - right)
  return { jobsPerSecond: (count * 1_000) / elapsedMs, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const makeJob = (run: string, index: number): Job.Job => ({
  id: `job_${run}_${index}` as Job.Job["id"],
  type: "nat.open",
  grantId: `ga_${run}_${index}` as Job.Job["grantId"],
  generation: 1,
  target: `region:bench-${index % targets}`,
  createdAt: 1_700_000_000_000
})

/** Our queue: `publishAll` then consumers until `count` acks; latency publish → ack. */
const runQueue = async (
  runtime: ManagedRuntime.ManagedRuntime<JobQueue.JobQueue, unknown>,
  run: string,
  count: number,
  paced: boolean
): Promise<Result> => {
  const publishedAt = new Map<string, number>()
  const latencies: Array<number> = []
  let acked = 0
  const consumer = (index: number) =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.JobQueue
      while (acked < count) {
        const deliveries = yield* queue.poll({ consumer: `bench-${index}`, max: batch, wait: "50 millis" })
        yield* Effect.forEach(
          deliveries,
          (delivery) =>
            Effect.gen(function* () {
              yield* delivery.ack
              acked += 1
              latencies.push(performance.now() - (publishedAt.get(delivery.job.id) ?? Number.NaN))
            }),
          { concurrency: "unbounded", discard: true }
        )
      }
    })
  const jobs = Array.from({ length: count }, (_, index) => makeJob(run, index))
  const started = performance.now()
  const fibers = await runtime.runPromise(
    Effect.forEach(
      Array.from({ length: consumers }, (_, index) => index),
      (index) => Effect.forkDetach(consumer(index))
    )
  )
  if (paced) {
    const interval = 1_000 / pacedRate
    for (const [index, job] of jobs.entries()) {
      const due = started + index * interval
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      publishedAt.set(job.id, performance.now())
      await runtime.runPromise(JobQueue.JobQueue.use((queue) => queue.publish([job])))
    }
  } else {
    for (let start = 0; start < jobs.length; start += 500) {
      const chunk = jobs.slice(start, start + 500)
      const now = performance.now()
      for (const job of chunk) publishedAt.set(job.id, now)
      await runtime.runPromise(JobQueue.JobQueue.use((queue) => queue.publish(chunk)))
    }
  }
  await runtime.runPromise(Effect.forEach(fibers, Fiber.join, { discard: true }))
  return summarize(count, performance.now() - started, latencies)
}

/** The floor: bare XADD / XREADGROUP / XACK on one stream per target. */
const runFloor = async (run: string, count: number, paced: boolean): Promise<Result> => {
  const producer = new Redis(url)
  const readers = Array.from({ length: consumers }, () => new Redis(url))
  const streams = Array.from({ length: targets }, (_, index) => `${prefix}:floor:${run}:{${index}}`)
  for (const stream of streams) await producer.xgroup("CREATE", stream, "g", "0", "MKSTREAM")
  const latencies: Array<number> = []
  let acked = 0
  const publishedAt = new Map<string, number>()
  const consume = async (reader: Redis, index: number) => {
    while (acked < count) {
      const reply = (await reader.xreadgroup(
        "GROUP",
        "g",
        `c${index}`,
        "COUNT",
        batch,
        "BLOCK",
        50,
        "STREAMS",
        ...streams,
        ...streams.map(() => ">")
      )) as Array<[string, Array<[string, Array<string>]>]> | null
      if (reply === null) continue
      await Promise.all(
        reply.flatMap(([stream, entries]) =>
          entries.map(async ([id, fields]) => {
            await reader.xack(stream, "g", id)
            acked += 1
            latencies.push(performance.now() - (publishedAt.get(fields[1] ?? "") ?? Number.NaN))
          })
        )
      )
    }
  }
  const started = performance.now()
  const running = readers.map((reader, index) => consume(reader, index))
  const add = (index: number) => {
    const id = `${run}-${index}`
    publishedAt.set(id, performance.now())
    return producer.xadd(streams[index % targets]!, "*", "id", id)
  }
  if (paced) {
    const interval = 1_000 / pacedRate
    for (let index = 0; index < count; index++) {
      const wait = started + index * interval - performance.now()
      if (wait > 0) await sleep(wait)
      await add(index)
    }
  } else {
    for (let start = 0; start < count; start += 500) {
      await Promise.all(Array.from({ length: Math.min(500, count - start) }, (_, offset) => add(start + offset)))
    }
  }
  await Promise.all(running)
  const elapsed = performance.now() - started
  producer.disconnect()
  for (const reader of readers) reader.disconnect()
  return summarize(count, elapsed, latencies)
}

const dropPrefix = async (client: Redis) => {
  let cursor = "0"
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) await client.unlink(...keys)
  } while (cursor !== "0")
}

const format = (result: Result) =>
  `${result.jobsPerSecond.toFixed(0).padStart(7)} jobs/s   p50 ${result.p50.toFixed(2).padStart(7)} ms   p99 ${result.p99
    .toFixed(2)
    .padStart(7)} ms`

const main = async () => {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await probe.connect()
    await probe.ping()
  } catch {
    console.log(`skipped: no Redis at ${url} (run eval "$(scripts/services.sh)")`)
    probe.disconnect()
    process.exit(process.env["CI"] === "true" ? 1 : 0)
  }
  const info = (await probe.info("server")).match(/redis_version:(\S+)/)?.[1] ?? "?"
  const runtime = ManagedRuntime.make(RedisJobQueue.layer({ url: Redacted.make(url), prefix, leaseMs: 30_000, pollIntervalMs: 5 }))
  try {
    await runtime.runPromise(Effect.void.pipe(Effect.provideService(References.MinimumLogLevel, "Error")))
    console.log(
      `Redis ${info} at ${url}; ${consumers} consumers x ${batch}; ${targets} targets; node ${process.version}\n` +
        `backlog: ${jobsTotal} jobs published in chunks of 500, then drained; paced: ${pacedJobs} jobs at ${pacedRate}/s\n`
    )
    await runFloor("warm", 500, false)
    await runQueue(runtime, "warm", 500, false)
    const floorBacklog = await runFloor("backlog", jobsTotal, false)
    const queueBacklog = await runQueue(runtime, "backlog", jobsTotal, false)
    const floorPaced = await runFloor("paced", pacedJobs, true)
    const queuePaced = await runQueue(runtime, "paced", pacedJobs, true)
    console.log(`floor XADD+XREADGROUP+XACK backlog  ${format(floorBacklog)}`)
    console.log(`RedisJobQueue              backlog  ${format(queueBacklog)}`)
    console.log(`floor XADD+XREADGROUP+XACK paced    ${format(floorPaced)}`)
    console.log(`RedisJobQueue              paced    ${format(queuePaced)}`)
    console.log(`\nbacklog throughput: queue / floor = ${(queueBacklog.jobsPerSecond / floorBacklog.jobsPerSecond).toFixed(2)}`)
  } finally {
    await runtime.dispose()
    await dropPrefix(probe)
    probe.disconnect()
  }
}

void main()
