/**
 * The layers: `layerConfig` reads TA_REDIS_URL (redacted) and TA_REDIS_PREFIX;
 * `layerFromClient` uses a caller's standalone client and leaves it open.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { JobQueue } from "@transient-access/core"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { inspect } from "node:util"
import { RedisJobQueue } from "../src/index.ts"
import { dropPrefix, redisUrl, uniquePrefix, unavailableReason } from "./utils.ts"

const prefix = uniquePrefix("layers")

describe.skipIf(unavailableReason !== null)("layers", () => {
  const client = new Redis(redisUrl ?? "", { lazyConnect: true })
  afterAll(async () => {
    await dropPrefix(client, prefix)
    client.disconnect()
  })

  it.live("layerConfig reads TA_REDIS_URL and TA_REDIS_PREFIX", () =>
    Effect.gen(function* () {
      const redis = yield* RedisJobQueue.RedisQueue
      assert.strictEqual(redis.settings.prefix, prefix)
      assert.strictEqual(redis.settings.leaseMs, 1234)
      yield* (yield* JobQueue.JobQueue).publish([])
    }).pipe(
      Effect.provide(RedisJobQueue.layerConfig({ leaseMs: 1234 })),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ TA_REDIS_URL: redisUrl, TA_REDIS_PREFIX: prefix })))
    )
  )

  it.live("layerConfig without TA_REDIS_URL fails with a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(JobQueue.JobQueue), RedisJobQueue.layerConfig()).pipe(
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
        )
      )
      assert.notStrictEqual(error._tag, "QueueError")
    })
  )

  it.live("layerFromClient leaves the caller's client open", () =>
    Effect.gen(function* () {
      yield* Effect.provide(Effect.service(JobQueue.JobQueue), RedisJobQueue.layerFromClient(client, { prefix }))
      assert.strictEqual(yield* Effect.promise(() => client.ping()), "PONG")
    })
  )

  it.live("invalid options are refused as Misconfigured", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(JobQueue.JobQueue), RedisJobQueue.layerFromClient(client, { prefix: "bad{prefix}" }))
      )
      assert.strictEqual(error.reason, "Misconfigured")
    })
  )

  it.live("refused credentials fail the layer without the password anywhere in the error", () =>
    Effect.gen(function* () {
      const password = `pw-${uniquePrefix("secret")}`
      const url = new URL(redisUrl ?? "")
      url.username = "no-such-user"
      url.password = password
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(JobQueue.JobQueue), RedisJobQueue.layer({ url: Redacted.make(url.toString()), prefix }))
      )
      assert.strictEqual(error._tag, "QueueError")
      assert.include(error.message, "WRONGPASS")
      assert.notInclude(inspect(error, { depth: 10 }), password)
      assert.notInclude(JSON.stringify(error), password)
    })
  )
})
