/**
 * The core's JobQueue contract suite against a real Redis server.
 */
import { afterAll, describe, it } from "@effect/vitest"
import { Redis } from "ioredis"
import { JobQueueSuite } from "@transient-access/core/suites"
import { RedisJobQueue } from "../src/index.ts"
import { corruptPayload, dropPrefix, redactedUrl, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const prefix = uniquePrefix("suite")
const leaseMs = 600

if (unavailableReason !== null) {
  describe("RedisJobQueue contract", () => {
    it.skip(`skipped: ${unavailableReason}`, () => {})
  })
} else {
  JobQueueSuite.suite("RedisJobQueue", RedisJobQueue.layer({ url: redactedUrl(), prefix, leaseMs, pollIntervalMs: 10 }), {
    leaseMs,
    corrupt: corruptPayload(prefix)
  })
  afterAll(async () => {
    const client = new Redis(redisUrl ?? "")
    await dropPrefix(client, prefix)
    client.disconnect()
  })
}
