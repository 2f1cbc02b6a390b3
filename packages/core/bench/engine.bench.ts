/**
 * Engine benchmark: grant + revoke cycles per second through the in-memory adapters,
 * beside a floor measured in the same run — the same store and queue operations a cycle
 * performs (insert with its jobs, outbox relay, deliveries and acks, the state updates),
 * without the saga's validation, policy, credential generation, port allocation, fences,
 * target calls and confirmation listings. The ratio shows the saga's own overhead.
 *
 * Run: `pnpm bench core` (or `node packages/core/bench/engine.bench.ts`).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { Grants } from "../src/Grants.ts"
import * as Engine from "../src/Engine.ts"
import { GrantStore } from "../src/GrantStore.ts"
import type { Grant } from "../src/Grant.ts"
import type { ActorId, DeviceId, GrantId, RegionId } from "../src/Ids.ts"
import { provisionJobs, removalJobs } from "../src/Job.ts"
import { JobQueue } from "../src/JobQueue.ts"
import { runOnce } from "../src/JobRunner.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import { relayOnce } from "../src/OutboxRelay.ts"
import * as Policy from "../src/Policy.ts"
import { makeTestGrant } from "../src/testing/fixtures.ts"
import type { Device, Region } from "../src/Topology.ts"

const region: Region = {
  id: "bench" as RegionId,
  endpointHost: "203.0.113.1",
  portRange: { from: 20000, to: 59999 },
  tunnelAddress: "10.9.0.1"
}
const device: Device = {
  id: "bench-dev" as DeviceId,
  regionId: region.id,
  tunnelAddress: "10.9.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push"
}
const actor: Policy.Actor = { id: "bench" as ActorId, roles: ["admin"] }

const makeRuntime = () =>
  ManagedRuntime.make(
    Engine.layer({
      regional: MemoryRegionalGateway.layer,
      device: MemoryDeviceGateway.layer,
      devices: [device],
      regions: [region],
      policy: Policy.layerAllowAll
    }).pipe(Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "None")))
  )

const drain = Effect.gen(function* () {
  yield* relayOnce()
  while ((yield* runOnce({ consumer: "bench", max: 64 })) > 0) yield* relayOnce()
})

const sagaCycle = Effect.gen(function* () {
  const grants = yield* Grants
  const { grant } = yield* grants.grant(actor, {
    deviceId: device.id,
    accessType: "ssh",
    permission: "read-only",
    source: "198.51.100.7",
    ttlSeconds: 3600
  })
  yield* drain
  yield* grants.revoke(actor, grant.id)
  yield* drain
})

let counter = 0
const floorCycle = Effect.gen(function* () {
  const store = yield* GrantStore
  const queue = yield* JobQueue
  const now = Date.now()
  const grant: Grant = makeTestGrant({
    id: `ga_floor${counter}` as GrantId,
    deviceId: device.id,
    regionId: region.id,
    actor: actor.id,
    createdAt: now,
    expiresAt: now + 3_600_000,
    username: `ta-floor${counter}`,
    endpoint: { host: region.endpointHost, port: 20000 + (counter++ % 40000) }
  })
  const settle = Effect.gen(function* () {
    const entries = yield* store.takeOutbox({ limit: 64, republishAfterMs: 60_000 })
    yield* queue.publish(entries.map((entry) => entry.job))
    yield* store.markPublished(entries.map((entry) => entry.job.id))
    const deliveries = yield* queue.poll({ consumer: "floor", max: 64 })
    for (const delivery of deliveries) {
      yield* delivery.ack
      yield* store.completeJobs([delivery.job.id])
    }
  })
  const inserted = yield* store.insert({
    grant,
    deviceSecret: Option.some(Redacted.make("x".repeat(24))),
    jobs: (stored) => provisionJobs(stored, now),
    idempotency: Option.none()
  })
  yield* settle
  let current = inserted.grant
  current = yield* store.update({ grantId: current.id, expectedGeneration: current.generation, patch: { state: "active" }, jobs: () => [] })
  current = yield* store.update({
    grantId: current.id,
    expectedGeneration: current.generation,
    patch: { state: "revoking", revokeReason: "manual" },
    jobs: (updated) => removalJobs(updated, now)
  })
  yield* settle
  yield* store.update({ grantId: current.id, expectedGeneration: current.generation, patch: { state: "revoked" }, jobs: () => [] })
})

const measure = async (label: string, cycle: Effect.Effect<void, unknown, Engine.Services>, iterations: number) => {
  const runtime = makeRuntime()
  await runtime.runPromise(Effect.forEach(Array.from({ length: 200 }), () => cycle, { discard: true })) // warm-up
  const latencies: Array<number> = []
  const started = performance.now()
  for (let index = 0; index < iterations; index++) {
    const before = performance.now()
    await runtime.runPromise(cycle)
    latencies.push(performance.now() - before)
  }
  const seconds = (performance.now() - started) / 1000
  await runtime.dispose()
  latencies.sort((a, b) => a - b)
  const perSecond = iterations / seconds
  const p50 = latencies[Math.floor(latencies.length * 0.5)]!
  const p99 = latencies[Math.floor(latencies.length * 0.99)]!
  console.log(`${label.padEnd(44)} ${perSecond.toFixed(0).padStart(8)} cycles/s   p50 ${p50.toFixed(3)} ms   p99 ${p99.toFixed(3)} ms`)
  return perSecond
}

const iterations = Number(process.env.TA_BENCH_ITERATIONS ?? 3000)
console.log(`engine: ${iterations} grant+revoke cycles, in-memory adapters, Node ${process.version}`)
const floor = await measure("floor: store + queue operations only", floorCycle, iterations)
const saga = await measure("saga: grant + provision + revoke + confirm", sagaCycle, iterations)
console.log(`ratio floor/saga: ${(floor / saga).toFixed(2)}x (the saga's own cost per cycle relative to its store and queue work)`)
