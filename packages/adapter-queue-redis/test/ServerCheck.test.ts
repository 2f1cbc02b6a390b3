/**
 * Start-up checks on servers of our own: an evicting `maxmemory-policy` is refused, AOF off
 * is a warning visible as an event and an audit record.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AuditLog, JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { RedisJobQueue } from "../src/index.ts"
import { ownServer, redisServerBinary } from "./utils.ts"
import type { OwnServer } from "./utils.ts"

if (!redisServerBinary && process.env["CI"] === "true") throw new Error("CI=true and redis-server is not installed")

describe.skipIf(!redisServerBinary)("start-up checks of the server", () => {
  let lru: OwnServer
  let noAof: OwnServer
  beforeAll(async () => {
    ;[lru, noAof] = await Promise.all([
      ownServer(["--maxmemory-policy", "allkeys-lru", "--appendonly", "yes"]),
      ownServer(["--maxmemory-policy", "noeviction", "--appendonly", "no"])
    ])
  })
  afterAll(async () => {
    await Promise.all([lru?.dispose(), noAof?.dispose()])
  })

  it.live("a server with maxmemory-policy allkeys-lru is refused (Misconfigured)", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(JobQueue.JobQueue), RedisJobQueue.layer({ url: Redacted.make(lru.url), prefix: "tq-check" }))
      )
      assert.strictEqual(error._tag, "QueueError")
      assert.strictEqual(error.reason, "Misconfigured")
      assert.match(error.message, /allkeys-lru/)
    })
  )

  it.live("a server without AOF starts with a ConfigWarning event and an audit record", () =>
    Effect.gen(function* () {
      const redis = yield* RedisJobQueue.RedisQueue
      const events = yield* redis.events
      const warning = events.find((event) => event._tag === "ConfigWarning")
      assert.isDefined(warning)
      assert.strictEqual(warning?._tag === "ConfigWarning" ? warning.setting : "", "appendonly")
      const audit = yield* AuditLog.AuditLog
      const records = yield* audit.list({})
      assert.isTrue(records.some((record) => record.action === "queue.config-warning"))
    }).pipe(
      Effect.provide(
        RedisJobQueue.layer({ url: Redacted.make(noAof.url), prefix: "tq-check" }).pipe(Layer.provideMerge(AuditLog.layerMemory()))
      )
    )
  )

  it.live("checkServer: false skips the checks", () =>
    Effect.gen(function* () {
      const redis = yield* RedisJobQueue.RedisQueue
      assert.lengthOf(yield* redis.events, 0)
    }).pipe(Effect.provide(RedisJobQueue.layer({ url: Redacted.make(lru.url), prefix: "tq-check", checkServer: false })))
  )
})
