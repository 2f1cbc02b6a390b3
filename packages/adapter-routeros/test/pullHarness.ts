/**
 * Pull-mode test harness: an HTTPS check-in endpoint (self-signed certificate made with
 * `openssl`, trusted by the simulated device), a pull channel, and a simulated device that
 * was bootstrapped with the channel's script and checks in every few milliseconds.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as https from "node:https"
import type * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { GrantStore, MemoryGrantStore, type Topology } from "@transient-access/core"
import { PullChannel, layerPull, makePullChannel } from "../src/PullChannel.ts"
import { startSimulator } from "../src/testing/index.ts"
import type { Simulator, SimulatorOptions } from "../src/testing/Simulator.ts"
import { adminPassword, deviceOf } from "./utils.ts"

/** A self-signed certificate for 127.0.0.1. */
export const selfSigned = (): { key: string; cert: string } => {
  const dir = mkdtempSync(join(tmpdir(), "ta-pull-"))
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")
    ], { stdio: "ignore" })
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface PullHarness {
  readonly sim: Simulator
  readonly device: Topology.Device
  readonly channel: PullChannel["Service"]
  readonly layer: Layer.Layer<import("@transient-access/core").DeviceGateway.DeviceGateway>
  readonly url: string
  readonly checkIns: () => number
  /** Pauses / resumes the device's check-ins. */
  readonly pause: (paused: boolean) => void
  readonly stop: () => Promise<void>
}

export const startPullHarness = async (options: SimulatorOptions = {}, intervalMs = 15): Promise<PullHarness> => {
  const tls = selfSigned()
  const channel = makePullChannel()
  let checkIns = 0
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const match = /^\/v1\/devices\/([A-Za-z0-9._:-]+)\/checkin$/.exec(req.url ?? "")
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (req.method !== "POST" || !match) {
        res.writeHead(404).end()
        return
      }
      const request = { authorization: req.headers.authorization, body: Buffer.concat(chunks).toString("latin1") }
      void Effect.runPromiseExit(channel.checkIn(match[1] as never, request)).then((exit) => {
        checkIns++
        if (Exit.isSuccess(exit)) res.writeHead(200, { "content-type": "text/plain" }).end(exit.value)
        else res.writeHead(401).end()
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as net.AddressInfo).port
  const sim = await startSimulator({ adminPassword, sshPort: false, trustedCertificates: [tls.cert], ...options })
  const device = deviceOf(sim, "pull")
  const url = `https://127.0.0.1:${port}/v1/devices/${device.id}/checkin`
  const token = await Effect.runPromise(channel.registerDevice(device.id))
  await sim.run(await Effect.runPromise(channel.bootstrap(device.id, { url, token, intervalSeconds: 30 })))
  const storeRuntime = ManagedRuntime.make(MemoryGrantStore.layerEphemeral)
  const store = await storeRuntime.runPromise(Effect.gen(function*() {
    return yield* GrantStore.GrantStore
  }))
  const layer = layerPull({ applyTimeoutMs: 5000 }).pipe(
    Layer.provide(Layer.succeed(PullChannel, channel)),
    Layer.provide(Layer.succeed(GrantStore.GrantStore, store))
  )
  let paused = false
  let running = true
  const loop = (async () => {
    while (running) {
      if (!paused) await sim.run("/system script run ta-checkin").catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()
  return {
    sim, device, channel, layer, url,
    checkIns: () => checkIns,
    pause: (value) => { paused = value },
    stop: async () => {
      running = false
      await loop
      await sim.stop()
      await storeRuntime.dispose()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
