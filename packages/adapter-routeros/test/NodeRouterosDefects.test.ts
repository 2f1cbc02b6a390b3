/**
 * Each node-routeros 1.6.9 defect the adapter contains, shown against the simulator: first
 * what the unpatched library does (a crash in a child process, or a promise that never
 * settles), then the adapter surviving the same condition.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { RouterOSAPI } from "node-routeros"
import { ApiPool } from "../src/internal/apiPool.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf } from "./utils.ts"

const unpatched = fileURLToPath(new URL("./fixtures/unpatched.ts", import.meta.url))
const runUnpatched = (scenario: string) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, [unpatched, scenario], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` })
    })
  })

const sim = await startSimulator({ adminPassword, profile: "v7.18", sshPort: false })
afterAll(() => sim.stop())
const device = deviceOf(sim)
const pending = Symbol("pending")
const settledWithin = <A>(promise: Promise<A>, ms: number) =>
  Promise.race([
    promise.then(
      () => "settled" as const,
      () => "settled" as const
    ),
    new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), ms))
  ])

describe("node-routeros 1.6.9 defects, contained", () => {
  it.live("`!empty` (RouterOS ≥ 7.18): unpatched crashes with UNKNOWNREPLY; the adapter returns []", () =>
    Effect.gen(function* () {
      const raw = yield* Effect.promise(() => runUnpatched("empty"))
      assert.notStrictEqual(raw.code, 0, raw.output)
      assert.include(raw.output, "UNKNOWNREPLY")
      const pool = new ApiPool({ credentials: adminCredentials })
      const rows = yield* pool.write(device, ["/user/print", "?name=nobody"])
      assert.deepStrictEqual(rows, [])
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("idle timeout: unpatched crashes with SOCKTMOUT (no 'error' listener); the adapter reconnects", () =>
    Effect.gen(function* () {
      const raw = yield* Effect.promise(() => runUnpatched("idle"))
      assert.notStrictEqual(raw.code, 0, raw.output)
      assert.include(raw.output, "SOCKTMOUT")
      const pool = new ApiPool({ credentials: adminCredentials, idleTimeoutSeconds: 1 })
      yield* pool.write(device, ["/system/identity/print"])
      yield* Effect.sleep("1600 millis")
      const rows = yield* pool.write(device, ["/system/identity/print"])
      assert.deepStrictEqual(rows, [{ name: "MikroTik" }])
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("`!fatal`: unpatched leaves the call pending forever; the adapter fails it at once and reconnects", () =>
    Effect.gen(function* () {
      sim.faults.inject({ command: "/system/clock/print", action: { _tag: "fatal", reason: "simulated fatal" }, times: 2 })
      const api = new RouterOSAPI({ host: sim.host, port: sim.apiPort, user: "admin", password: adminPassword, timeout: 30 })
      api.on("error", () => {})
      yield* Effect.promise(() => api.connect())
      const state = yield* Effect.promise(() => settledWithin(api.write("/system/clock/print"), 1000))
      assert.strictEqual(state, pending, "unpatched write should still be pending")
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 5000 })
      const started = Date.now()
      const error = yield* Effect.flip(pool.write(device, ["/system/clock/print"]))
      assert.strictEqual(error.reason, "Unreachable")
      assert.isBelow(Date.now() - started, 1000, "failed at once, not at the deadline")
      const rows = yield* pool.write(device, ["/system/identity/print"])
      assert.strictEqual(rows.length, 1)
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("a silent device: every call has a deadline (Timeout), then the connection is re-made", () =>
    Effect.gen(function* () {
      sim.faults.inject({ command: "/system/resource/print", action: { _tag: "silence" }, times: 1 })
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 300 })
      const error = yield* Effect.flip(pool.write(device, ["/system/resource/print"]))
      assert.strictEqual(error.reason, "Timeout")
      const rows = yield* pool.write(device, ["/system/resource/print"])
      assert.strictEqual(rows.length, 1)
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("a dropped connection fails the call (Unreachable) and the next call reconnects", () =>
    Effect.gen(function* () {
      sim.faults.inject({ command: "/system/identity/print", action: { _tag: "drop" }, times: 1 })
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 2000 })
      const error = yield* Effect.flip(pool.write(device, ["/system/identity/print"]))
      assert.strictEqual(error.reason, "Unreachable")
      assert.strictEqual((yield* pool.write(device, ["/system/identity/print"])).length, 1)
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("offline device: Unreachable; delayed replies inside the deadline succeed; traps are typed", () =>
    Effect.gen(function* () {
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 1000 })
      sim.faults.setOffline(true)
      assert.strictEqual((yield* Effect.flip(pool.write(device, ["/system/identity/print"]))).reason, "Unreachable")
      sim.faults.setOffline(false)
      sim.faults.inject({ command: "/system/identity/print", action: { _tag: "delay", ms: 200 }, times: 1 })
      assert.strictEqual((yield* pool.write(device, ["/system/identity/print"])).length, 1)
      sim.faults.inject({ command: "/user/add", action: { _tag: "trap", message: "failure: simulated", category: 4 }, times: 1 })
      assert.strictEqual((yield* Effect.flip(pool.write(device, ["/user/add", "=name=x", "=group=read"]))).reason, "Rejected")
      assert.strictEqual((yield* Effect.flip(pool.write(device, ["/user/remove", "=.id=*FFFF"]))).reason, "NotFound")
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("TLS: unpatched keeps port 8728; the adapter passes the port and talks api-ssl (anonymous DH)", () =>
    Effect.gen(function* () {
      assert.strictEqual(new RouterOSAPI({ host: "127.0.0.1", tls: {} }).port, 8728)
      const sslSim = yield* Effect.acquireRelease(
        Effect.promise(() => startSimulator({ adminPassword, apiTls: "anonymous", sshPort: false })),
        (s) => Effect.promise(() => s.stop())
      )
      const sslDevice = { ...deviceOf(sslSim), ports: { ssh: 22, winbox: 8291, api: sslSim.apiSslPort! } }
      const pool = new ApiPool({
        credentials: adminCredentials,
        tls: { ciphers: "ADH-AES256-GCM-SHA384:ADH-AES128-SHA:@SECLEVEL=0", maxVersion: "TLSv1.2", rejectUnauthorized: false }
      })
      assert.deepStrictEqual(yield* pool.write(sslDevice, ["/system/identity/print"]), [{ name: "MikroTik" }])
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("Windows-1252: unpatched turns '✓' into '?'; the adapter refuses the word (Rejected)", () =>
    Effect.gen(function* () {
      const api = new RouterOSAPI({ host: sim.host, port: sim.apiPort, user: "admin", password: adminPassword })
      api.on("error", () => {})
      yield* Effect.promise(() => api.connect())
      yield* Effect.promise(() => api.write("/system/script/add", ["=name=cp1252-raw", '=source=:put "✓ ok"']))
      assert.strictEqual(sim.state.scripts.find("cp1252-raw")?.props.get("source"), ':put "? ok"')
      yield* Effect.promise(() => api.close())
      const pool = new ApiPool({ credentials: adminCredentials })
      const error = yield* Effect.flip(pool.write(device, ["/system/script/add", "=name=cp1252-ours", '=source=:put "✓ ok"']))
      assert.strictEqual(error.reason, "Rejected")
      assert.isUndefined(sim.state.scripts.find("cp1252-ours"))
      yield* pool.write(device, ["/system/script/add", "=name=cp1252-latin", "=source=café €"])
      assert.strictEqual(sim.state.scripts.find("cp1252-latin")?.props.get("source"), "caf\xE9 \x80") // cp1252 bytes on the wire
      yield* Effect.promise(() => pool.closeAll())
    })
  )
})

describe("receiver fragility (notes §3.5)", () => {
  it.live("a reply split right before its final terminator is delivered by keepalive traffic or fails by deadline — never hangs", () =>
    Effect.gen(function* () {
      sim.faults.inject({ command: "/system/identity/print", action: { _tag: "fragment", beforeTerminator: true }, times: 1 })
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 3000, idleTimeoutSeconds: 1 })
      yield* pool.write(device, ["/system/resource/print"]) // connect first
      const started = Date.now()
      const result = yield* Effect.result(pool.write(device, ["/system/identity/print"]))
      assert.isBelow(Date.now() - started, 3500)
      if (result._tag === "Failure") assert.strictEqual(result.failure.reason, "Timeout")
      assert.strictEqual((yield* pool.write(device, ["/system/identity/print"])).length, 1)
      yield* Effect.promise(() => pool.closeAll())
    })
  )

  it.live("a reply delivered one byte at a time settles (read, or a typed failure) and the next call works", () =>
    Effect.gen(function* () {
      sim.faults.inject({ command: "/system/clock/print", action: { _tag: "fragment", size: 1 }, times: 1 })
      const pool = new ApiPool({ credentials: adminCredentials, callTimeoutMs: 5000, idleTimeoutSeconds: 1 })
      yield* pool.write(device, ["/system/resource/print"])
      const result = yield* Effect.result(pool.write(device, ["/system/clock/print"]))
      if (result._tag === "Success") assert.strictEqual(result.success.length, 1)
      else assert.include(["Timeout", "Unreachable"], result.failure.reason)
      assert.strictEqual((yield* pool.write(device, ["/system/clock/print"])).length, 1)
      yield* Effect.promise(() => pool.closeAll())
    })
  )
})
