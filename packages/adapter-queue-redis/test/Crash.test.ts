/**
 * Crash test: a consumer process is SIGKILLed in the middle of a job (after applying its
 * effect, before acking). Another consumer gets the job once it has been idle for the
 * claim time; the idempotent executor applies it exactly once in effect, and the target's
 * later jobs follow in order.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Job, JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { RedisJobQueue } from "../src/index.ts"
import { execute, executorKeys } from "./fixtures/executor.ts"
import { dropPrefix, redactedUrl, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const leaseMs = 1_500
const child = fileURLToPath(new URL("./fixtures/crashingConsumer.ts", import.meta.url))

const makeJob = (target: string, index: number): Job.Job => ({
  id: `job_crash_${index}` as Job.Job["id"],
  type: "user.create",
  grantId: `ga_crash_${index}` as Job.Job["grantId"],
  generation: 1,
  target,
  createdAt: 1_700_000_000_000 + index
})

/** Starts the doomed consumer and resolves with its `APPLIED` line and a SIGKILL handle. */
const startDoomed = (prefix: string, target: string) =>
  Effect.callback<{ readonly line: string; readonly kill: () => Promise<void> }, Error>((resume) => {
    const proc = spawn(process.execPath, [child, redisUrl ?? "", prefix, String(leaseMs), target], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    let errors = ""
    const kill = () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
        proc.once("exit", () => resolve())
        proc.kill("SIGKILL")
      })
    proc.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    proc.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const line = output.split("\n").find((candidate) => candidate.startsWith("APPLIED "))
      if (line !== undefined) resume(Effect.succeed({ line, kill }))
    })
    proc.once("exit", (code) => resume(Effect.fail(new Error(`consumer exited early (${code}): ${errors}`))))
    return Effect.promise(kill)
  })

describe.skipIf(unavailableReason !== null)("crash of a consumer process (SIGKILL mid-job)", () => {
  it.live(
    "the job is reclaimed after the idle time, applied once in effect, in order with later jobs",
    () => {
      const prefix = uniquePrefix("crash")
      const target = `device:crash-${prefix}`
      const jobs = [1, 2, 3, 4, 5].map((index) => makeJob(target, index))
      const client = new Redis(redisUrl ?? "")
      return Effect.gen(function* () {
        const queue = yield* JobQueue.JobQueue
        const redis = yield* RedisJobQueue.RedisQueue
        yield* queue.publish(jobs)
        const doomed = yield* startDoomed(prefix, target).pipe(Effect.timeout("20 seconds"))
        assert.strictEqual(doomed.line, `APPLIED ${jobs[0]!.id} 1`)
        const appliedAt = performance.now()
        yield* Effect.promise(doomed.kill)

        // While the dead consumer's lease runs, the target yields nothing.
        const early = yield* queue.poll({ consumer: "survivor", max: 10, wait: `${leaseMs / 3} millis` })
        assert.lengthOf(
          early.filter((delivery) => delivery.job.target === target),
          0
        )

        const delivered: Array<{ id: string; attempt: number; afterMs: number }> = []
        const deadline = performance.now() + 20_000
        while (delivered.length < jobs.length && performance.now() < deadline) {
          const deliveries = yield* queue.poll({ consumer: "survivor", max: 10, wait: "200 millis" })
          for (const delivery of deliveries) {
            if (delivery.job.target !== target) continue
            delivered.push({ id: delivery.job.id, attempt: delivery.attempt, afterMs: performance.now() - appliedAt })
            yield* Effect.promise(() => execute(client, prefix, delivery.job.id))
            yield* delivery.ack
          }
        }
        assert.deepStrictEqual(
          delivered.map((entry) => entry.id),
          jobs.map((job) => job.id)
        )
        assert.strictEqual(delivered[0]!.attempt, 2, "the reclaimed delivery counts as the second attempt")
        assert.isAtLeast(delivered[0]!.afterMs, leaseMs * 0.5, "reclaimed before the idle time")
        const keys = executorKeys(prefix)
        const effects = yield* Effect.promise(() => client.lrange(keys.effects, 0, -1))
        const executions = yield* Effect.promise(() => client.lrange(keys.executions, 0, -1))
        assert.deepStrictEqual(
          effects,
          jobs.map((job) => job.id),
          "each effect applied exactly once, in order"
        )
        assert.deepStrictEqual(executions, [jobs[0]!.id, ...jobs.map((job) => job.id)], "the first job ran twice")
        const events = yield* redis.events
        assert.isTrue(events.some((event) => event._tag === "Reclaimed" && event.jobId === jobs[0]!.id))
        const again = yield* queue.poll({ consumer: "survivor", max: 10, wait: "300 millis" })
        assert.lengthOf(
          again.filter((delivery) => delivery.job.target === target),
          0
        )
      }).pipe(
        Effect.provide(RedisJobQueue.layer({ url: redactedUrl(), prefix, leaseMs, pollIntervalMs: 20 })),
        Effect.ensuring(
          Effect.promise(async () => {
            await dropPrefix(client, prefix)
            client.disconnect()
          })
        )
      )
    },
    60_000
  )
})
