/**
 * The core's `PullStore` contract suite against `PgPullStore` on the real server (own
 * schema, dropped afterwards, `pg_dump` as the raw probe), plus durability: a second layer
 * over the same schema (another process, or a restart) sees every token, command and
 * check-in.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { PullStore } from "@transient-access/core"
import type { Ids } from "@transient-access/core"
import { PullStoreSuite } from "@transient-access/core/suites"
import { PgPullStore } from "../src/index.ts"
import { databaseUrl, dropSchema, freshSchema, pgDump, pgStoreLayer, serverReachable } from "./utils.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("pull")

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))
  const pullLayer = () => PgPullStore.layer.pipe(Layer.provide(pgStoreLayer(url, schema)))
  PullStoreSuite.suite("PgPullStore (PostgreSQL)", pullLayer(), { probe: { rawDump: pgDump(url, schema) } })

  describe("PgPullStore durability (PostgreSQL)", () => {
    it.live("a new layer over the same schema (a restart, another process) sees tokens, commands and check-ins", () =>
      Effect.gen(function* () {
        const deviceId = `device-restart-${Date.now()}` as Ids.DeviceId
        const hash = "ab".repeat(32)
        const command: PullStore.PendingCommand = { sequence: 2, command: { _tag: "RemoveUser", username: "ta-restart" } }
        yield* Effect.gen(function* () {
          const store = yield* PullStore.PullStore
          yield* store.setTokenHash(deviceId, hash)
          yield* store.enqueue(deviceId, { sequence: 1, command: { _tag: "Probe" } })
          yield* store.recordCheckIn(deviceId, { sequence: 1, receivedAt: 1, report: { users: [] } })
          yield* store.enqueue(deviceId, command)
        }).pipe(Effect.provide(pullLayer()))
        const seen = yield* Effect.gen(function* () {
          const store = yield* PullStore.PullStore
          return {
            hash: yield* store.tokenHash(deviceId),
            pending: yield* store.pending(deviceId),
            last: yield* store.lastCheckIn(deviceId)
          }
        }).pipe(Effect.provide(pullLayer()))
        assert.deepStrictEqual(seen.hash, Option.some(hash))
        assert.deepStrictEqual(seen.pending, [command])
        assert.deepStrictEqual(seen.last, Option.some({ sequence: 1, receivedAt: 1, report: { users: [] }, count: 1 }))
      })
    )
  })
} else {
  describe.skip("PgPullStore (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
