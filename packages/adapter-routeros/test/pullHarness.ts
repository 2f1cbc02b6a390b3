/**
 * Pull-mode test harness: an HTTPS check-in endpoint (self-signed certificate made with
 * `openssl`, trusted by the simulated device), a pull channel over a `PullStore` and a
 * `GrantStore` (in memory, shared by every channel the harness makes), and a simulated device
 * that was bootstrapped with the channel's script and checks in every few milliseconds.
 *
 * Channels made with `newChannel()` stand for other processes (or a restarted one): they
 * share only the stores. `serveWith(channel)` picks the channel that answers check-ins.
 *
 * The gateway layers insert, before each `createUser`, the grant with its device secret in
 * the `GrantStore` (as `Grants.grant` does before the executor runs), because pull mode reads
 * the password from there when it renders the create.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as https from "node:https"
import type * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { DeviceGateway, GrantStore, Ids, MemoryGrantStore, MemoryPullStore, type PullStore, type Topology } from "@transient-access/core"
import { Fixtures } from "@transient-access/core/testing"
import * as PullChannel from "../src/PullChannel.ts"
import * as PullGateway from "../src/PullGateway.ts"
import { startSimulator } from "../src/testing/index.ts"
import type { Simulator, SimulatorOptions } from "../src/testing/Simulator.ts"
import { adminPassword, deviceOf } from "./utils.ts"

/** A self-signed certificate for 127.0.0.1. */
export const selfSigned = (): { key: string; cert: string } => {
  const dir = mkdtempSync(join(tmpdir(), "ta-pull-"))
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem")
      ],
      { stdio: "ignore" }
    )
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

type Stores = GrantStore.GrantStore | PullStore.PullStore

export interface PullHarness {
  readonly sim: Simulator
  readonly device: Topology.Device
  /** The channel the harness started with (serves check-ins unless `serveWith` changed it). */
  readonly channel: PullChannel.PullChannel["Service"]
  /** The gateway over `channel`. */
  readonly layer: Layer.Layer<DeviceGateway.DeviceGateway>
  /** The shared stores. */
  readonly stores: Context.Context<Stores>
  readonly url: string
  readonly checkIns: () => number
  /** Every check-in request the device sent, oldest first (what an eavesdropper could replay). */
  readonly requests: () => ReadonlyArray<PullChannel.CheckInRequest>
  /** A new channel over the same stores (another process, or this one restarted). */
  readonly newChannel: () => Promise<PullChannel.PullChannel["Service"]>
  /** A gateway over `channel` (with the harness' grant/secret seeding). */
  readonly gatewayOver: (channel: PullChannel.PullChannel["Service"]) => Layer.Layer<DeviceGateway.DeviceGateway>
  /** Which channel answers the device's check-ins from now on. */
  readonly serveWith: (channel: PullChannel.PullChannel["Service"]) => void
  /** Pauses / resumes the device's check-ins. */
  readonly pause: (paused: boolean) => void
  readonly stop: () => Promise<void>
}

/** Inserts the grant of `spec` with its device secret, unless the store has it already. */
const seedGrant = (store: GrantStore.GrantStore["Service"], device: Topology.Device, spec: DeviceGateway.DeviceUserSpec) =>
  Effect.gen(function* () {
    if (Option.isSome(yield* store.get(spec.grantId))) return
    const grant = Fixtures.makeTestGrant({
      id: spec.grantId,
      deviceId: device.id,
      username: spec.username,
      permission: spec.permission,
      expiresAt: spec.expiresAt
    })
    yield* store.insert(Fixtures.makeNewGrant(grant, { deviceSecret: Option.some(spec.password), jobs: () => [] }))
  }).pipe(Effect.orDie)

/** The pull gateway over `channel`, seeding each created user's grant and secret first. */
const gatewayLayer = (
  channel: PullChannel.PullChannel["Service"],
  stores: Context.Context<Stores>
): Layer.Layer<DeviceGateway.DeviceGateway> =>
  Layer.effect(
    DeviceGateway.DeviceGateway,
    Effect.gen(function* () {
      const inner = Context.get(
        yield* Layer.build(
          PullGateway.layer({ applyTimeoutMs: 5000, pollIntervalMs: 10 }).pipe(
            Layer.provide(Layer.succeed(PullChannel.PullChannel, channel))
          )
        ),
        DeviceGateway.DeviceGateway
      )
      const store = Context.get(stores, GrantStore.GrantStore)
      return DeviceGateway.DeviceGateway.of({
        ...inner,
        createUser: (device, spec) => seedGrant(store, device, spec).pipe(Effect.andThen(inner.createUser(device, spec)))
      })
    }).pipe(Effect.provide(stores))
  )

export const startPullHarness = async (options: SimulatorOptions = {}, intervalMs = 15): Promise<PullHarness> => {
  const tls = selfSigned()
  const storeRuntime = ManagedRuntime.make(Layer.merge(MemoryGrantStore.layerEphemeral, MemoryPullStore.layer))
  const stores = await storeRuntime.runPromise(Effect.context<Stores>())
  const newChannel = () => Effect.runPromise(PullChannel.make.pipe(Effect.provide(stores)))
  const channel = await newChannel()
  let serving = channel
  let checkIns = 0
  const requests: Array<PullChannel.CheckInRequest> = []
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const deviceId = /^\/v1\/devices\/([^/]+)\/checkin$/.exec(req.url ?? "")?.[1]
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (req.method !== "POST" || !Ids.isId(deviceId)) {
        res.writeHead(404).end()
        return
      }
      const request = { authorization: req.headers.authorization, body: Buffer.concat(chunks).toString("latin1") }
      requests.push(request)
      void Effect.runPromiseExit(serving.checkIn(deviceId as Ids.DeviceId, request)).then((exit) => {
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
  let paused = false
  let running = true
  const loop = (async () => {
    while (running) {
      if (!paused) await sim.run("/system script run ta-checkin").catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()
  return {
    sim,
    device,
    channel,
    stores,
    url,
    layer: gatewayLayer(channel, stores),
    checkIns: () => checkIns,
    requests: () => [...requests],
    newChannel,
    gatewayOver: (other) => gatewayLayer(other, stores),
    serveWith: (other) => {
      serving = other
    },
    pause: (value) => {
      paused = value
    },
    stop: async () => {
      running = false
      await loop
      await sim.stop()
      await storeRuntime.dispose()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
