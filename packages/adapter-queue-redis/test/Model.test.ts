/**
 * The core's model-based test of the sagas, run once more with this queue in place of the
 * in-memory one (fewer runs: each run talks to the real server). Every run uses its own
 * key prefix, dropped afterwards. A failure prints fast-check's seed and path.
 */
import { describe, it } from "@effect/vitest"
import { Redis } from "ioredis"
import { ModelTest } from "@transient-access/core/suites"
import { RedisJobQueue } from "../src/index.ts"
import { dropPrefix, redactedUrl, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const numRuns = Number(process.env["TA_REDIS_MODEL_RUNS"] ?? 30)

describe.skipIf(unavailableReason !== null)("model-based test with the Redis queue", () => {
  it("safety holds at every step and everything drains (real Redis)", async () => {
    const client = new Redis(redisUrl ?? "")
    let prefix = uniquePrefix("model")
    try {
      await ModelTest.run({
        numRuns,
        maxCommands: 25,
        queue: () => {
          prefix = uniquePrefix("model")
          return RedisJobQueue.layer({ url: redactedUrl(), prefix, leaseMs: 200, pollIntervalMs: 10 })
        },
        afterRun: async () => {
          const dropped = await dropPrefix(client, prefix)
          if (process.env["TA_DEBUG_MODEL"] !== undefined) console.log(`run ${prefix}: ${dropped} keys dropped`)
        }
      })
    } finally {
      client.disconnect()
    }
  }, 170_000)
})
