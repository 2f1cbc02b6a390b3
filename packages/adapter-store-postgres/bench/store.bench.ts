/**
 * Benchmark: grant + revoke store operations on a real PostgreSQL server, beside a floor
 * measured in the same run.
 *
 * - store: `insert` (a pending grant with a sealed device secret, its 2 provisioning jobs
 *   and the region revision) then `update` to `revoking` (compare-and-set, 2 removal jobs,
 *   region revision) — one "grant + revoke" pair is 2 store operations, 2 transactions.
 * - floor: a bare single-row `INSERT` then `UPDATE` of that row through `pg` (2 autocommit
 *   round trips) on the same server.
 *
 * Latency is measured with one caller (sequential), throughput with `TA_BENCH_CONCURRENCY`
 * callers (default 8). Server: `TA_BENCH_DATABASE_URL`, else `TA_TEST_DATABASE_URL`.
 * Run: `node packages/adapter-store-postgres/bench/store.bench.ts`.
 */
import { randomBytes } from "node:crypto"
import { performance } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { GrantStore, Job, SecretBox } from "@transient-access/core"
import type { Ids } from "@transient-access/core"
import { Fixtures } from "@transient-access/core/testing"
import { PgClient, PgGrantStore } from "../src/index.ts"

const url = process.env["TA_BENCH_DATABASE_URL"] ?? process.env["TA_TEST_DATABASE_URL"]
const concurrency = Number(process.env["TA_BENCH_CONCURRENCY"] ?? 8)
const sequentialPairs = Number(process.env["TA_BENCH_PAIRS"] ?? 1_000)
const throughputPairs = sequentialPairs * 2

interface Result {
  readonly pairsPerSecond: number
  readonly opsPerSecond: number
  readonly p50: number
  readonly p99: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

/** Times `pair` sequentially (latency of one pair) and with `concurrency` callers (throughput). */
const measure = async (pair: (index: number) => Promise<void>): Promise<Result> => {
  for (let index = 0; index < 50; index++) await pair(sequentialPairs + throughputPairs + index) // warm-up
  const latencies: Array<number> = []
  for (let index = 0; index < sequentialPairs; index++) {
    const start = performance.now()
    await pair(index)
    latencies.push(performance.now() - start)
  }
  latencies.sort((left, right) => left - right)
  let next = sequentialPairs
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sequentialPairs + throughputPairs) await pair(next++)
    })
  )
  const seconds = (performance.now() - start) / 1000
  return {
    pairsPerSecond: throughputPairs / seconds,
    opsPerSecond: (2 * throughputPairs) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99)
  }
}

const main = async (): Promise<void> => {
  if (url === undefined) {
    console.log("store.bench: skipped (set TA_BENCH_DATABASE_URL or TA_TEST_DATABASE_URL; scripts/services.sh starts a server)")
    return
  }
  const schema = `bench_${randomBytes(4).toString("hex")}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const runtime = ManagedRuntime.make(
    PgGrantStore.layer.pipe(
      Layer.provide(PgClient.layer({ url: Redacted.make(url), schema, migrate: true, poolSize: concurrency + 2 })),
      Layer.provide(
        SecretBox.layer({ keys: [{ id: "bench", key: Redacted.make(new Uint8Array(randomBytes(32))) }], activeKeyId: "bench" })
      ),
      Layer.orDie
    )
  )
  const floorPool = new pg.Pool({ connectionString: url, max: concurrency + 2 })
  try {
    const store = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* GrantStore.GrantStore
      })
    )
    const regions = Array.from({ length: 16 }, (_, index) => `bench-region-${index}` as Ids.RegionId)
    const secret = Redacted.make(randomBytes(16).toString("base64url"))
    const storePair = (index: number) => {
      const grant = Fixtures.makeTestGrant({
        deviceId: `device-${index % 100}` as Ids.DeviceId,
        regionId: regions[index % regions.length]!,
        actor: "bench" as Ids.ActorId,
        endpoint: { host: "203.0.113.10", port: 1 + Math.floor(index / regions.length) }
      })
      const now = grant.createdAt
      return runtime.runPromise(
        Effect.gen(function* () {
          const inserted = yield* store.insert({
            grant,
            deviceSecret: Option.some(secret),
            jobs: (stored) => Job.provisionJobs(stored, now),
            idempotency: Option.none()
          })
          yield* store.update({
            grantId: grant.id,
            expectedGeneration: inserted.grant.generation,
            patch: { state: "revoking", revokeReason: "manual", revokeRequestedAt: now },
            jobs: (next) => Job.removalJobs(next, now)
          })
        })
      )
    }
    await admin.query(`create table "${schema}".floor (id bigserial primary key, state text not null, generation int not null)`)
    const floorPair = async () => {
      const inserted = await floorPool.query<{ id: string }>(
        `insert into "${schema}".floor (state, generation) values ('pending', 1) returning id`
      )
      await floorPool.query(`update "${schema}".floor set state = 'revoking', generation = generation + 1 where id = $1`, [
        inserted.rows[0]?.id
      ])
    }
    const floor = await measure(floorPair)
    const measured = await measure(storePair)
    const row = (name: string, result: Result) =>
      `${name.padEnd(28)} ${result.opsPerSecond.toFixed(0).padStart(8)} ops/s ${result.pairsPerSecond.toFixed(0).padStart(7)} pairs/s` +
      `   p50 ${result.p50.toFixed(2).padStart(6)} ms   p99 ${result.p99.toFixed(2).padStart(6)} ms (per pair)`
    console.log(
      `store.bench (PostgreSQL, ${sequentialPairs} sequential pairs for latency, ${throughputPairs} pairs with ${concurrency} callers for throughput)`
    )
    console.log(row("floor: INSERT + UPDATE (pg)", floor))
    console.log(row("store: grant + revoke", measured))
    console.log(
      `ratio store/floor: throughput ${(measured.opsPerSecond / floor.opsPerSecond).toFixed(2)}x, ` +
        `p50 ${(measured.p50 / floor.p50).toFixed(2)}x, p99 ${(measured.p99 / floor.p99).toFixed(2)}x`
    )
  } finally {
    await runtime.dispose()
    await floorPool.end()
    await admin.query(`drop schema if exists "${schema}" cascade`)
    await admin.end()
  }
}

await main()
