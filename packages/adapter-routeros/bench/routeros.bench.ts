/**
 * Bench: DeviceGateway createUser + removeUser per second over API push to the simulator,
 * beside the floor of raw `/system/identity/print` round trips on the same connection pool,
 * in the same run. Plain Node script: `node packages/adapter-routeros/bench/routeros.bench.ts`.
 * Environment: TA_BENCH_SECONDS (per phase, default 3).
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Ids, Topology } from "@transient-access/core"
import { ApiPool, apiMenuClient } from "../src/internal/apiPool.ts"
import { makeMenuGateway } from "../src/internal/menuGateway.ts"
import { startSimulator } from "../src/testing/index.ts"

const seconds = Number(process.env.TA_BENCH_SECONDS ?? "3")
const sim = await startSimulator({ adminPassword: "bench-pw", sshPort: false, profile: "v7.18" })
const device: Topology.Device = {
  id: "bench-device" as Ids.DeviceId,
  regionId: "bench" as Ids.RegionId,
  tunnelAddress: sim.host,
  ports: { ssh: 22, winbox: 8291, api: sim.apiPort },
  mode: "push"
}
const pool = new ApiPool({ credentials: () => ({ user: "admin", password: Redacted.make("bench-pw") }) })
const gateway = makeMenuGateway((target) => apiMenuClient(pool, target))

const measure = async (label: string, op: (index: number) => Promise<unknown>) => {
  await op(-1) // warm-up (connect, login)
  const latencies: Array<number> = []
  const deadline = performance.now() + seconds * 1000
  let count = 0
  while (performance.now() < deadline) {
    const start = performance.now()
    await op(count++)
    latencies.push(performance.now() - start)
  }
  latencies.sort((a, b) => a - b)
  const elapsed = latencies.reduce((sum, value) => sum + value, 0) / 1000
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2)
  console.log(
    `${label.padEnd(46)} ${(count / elapsed).toFixed(0).padStart(7)} ops/s   p50 ${pct(0.5)} ms   p99 ${pct(0.99)} ms   (n=${count})`
  )
  return count / elapsed
}

console.log(`RouterOS adapter bench — simulator v7.18 on ${sim.host}, ${seconds}s per phase, sequential, one connection`)
const floor = await measure("raw /system/identity/print round trip", () =>
  Effect.runPromise(pool.write(device, ["/system/identity/print"]))
)
const cycle = await measure("createUser + removeUser (API push)", (index) => {
  const username = `ta-bench${String(index + 1).padStart(6, "0")}`
  return Effect.runPromise(
    Effect.gen(function* () {
      yield* gateway.createUser(device, {
        grantId: `ga_bench_${index + 1}` as Ids.GrantId,
        username,
        password: Redacted.make("Bench-Pw-0123456789abc"),
        permission: "read-only",
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      })
      yield* gateway.removeUser(device, username)
    })
  )
})
console.log(`round trips per create+remove cycle (floor / cycle rate): ${(floor / cycle).toFixed(1)}`)
await pool.closeAll()
await sim.stop()
