/**
 * `startSimulator`: one simulated RouterOS device — API (`api`), optionally API-SSL, and
 * SSH — sharing one device state, one CLI interpreter, one clock and one fault controller.
 *
 * Lifecycle: listeners bind to `host` (default 127.0.0.1) on the given ports (0 = any free
 * port) and are closed by `stop()`. With `clock: "running"` (default) the device clock
 * follows the host plus an offset and scheduler entries fire on a 250 ms tick; with
 * `clock: "frozen"` time moves only through `clock.advance` / `clock.set`.
 *
 * @since 0.1.0
 */
import * as http from "node:http"
import * as https from "node:https"
import type * as net from "node:net"
import ssh2 from "ssh2"
import type { Ids, Topology } from "@transient-access/core"
import { type ApiTls, startApiServer } from "./ApiServer.ts"
import { CliInterpreter, type FetchRequest } from "./CliInterpreter.ts"
import { Faults } from "./Faults.ts"
import { type VersionProfile, profiles } from "./Profiles.ts"
import { RosError } from "./RosError.ts"
import { type Caller, RouterState, allPolicies } from "./RouterState.ts"
import type { SimClock } from "./SimClock.ts"
import { startSshServer } from "./SshServer.ts"
import { fingerprint } from "../internal/sshPool.ts"

/**
 * An ed25519 host key pair that ssh2 can read back. ssh2 1.17's `generateKeyPairSync`
 * strips leading zero bytes from the 32-byte public key, so about 1 in 256 pairs cannot be
 * parsed (mscdex/ssh2#1513, #1390) and the SSH server fails to start; such pairs are drawn
 * again.
 */
const hostKeyPair = (): { readonly private: string; readonly public: string } => {
  for (;;) {
    const keys = ssh2.utils.generateKeyPairSync("ed25519")
    if (!(ssh2.utils.parseKey(keys.private) instanceof Error) && !(ssh2.utils.parseKey(keys.public) instanceof Error)) return keys
  }
}

/**
 * Options of `startSimulator`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SimulatorOptions {
  readonly host?: string
  /** API port (default 0: any free port). */
  readonly apiPort?: number
  /** Starts an API-SSL listener with this TLS mode. */
  readonly apiTls?: ApiTls
  readonly apiSslPort?: number
  /** SSH port (default 0); `false` disables SSH. */
  readonly sshPort?: number | false
  /** Version profile (default `v7`). */
  readonly profile?: VersionProfile
  /** `/system/identity` name (default `MikroTik`). */
  readonly identity?: string
  /** Password of the built-in `admin` (default empty, as on a fresh RouterOS). */
  readonly adminPassword?: string
  /** `running` (default) or `frozen`; `startAt` sets the initial device time (epoch ms). */
  readonly clock?: "running" | "frozen"
  readonly startAt?: number
  /** Removing/disabling a user also ends its sessions (default false: unconfirmed on RouterOS). */
  readonly removeKillsSessions?: boolean
  /** Extra CA certificates `/tool fetch check-certificate=yes` trusts (the device's certificate store). */
  readonly trustedCertificates?: ReadonlyArray<string | Buffer>
  /** Replaces the HTTP(S) client of `/tool fetch`. */
  readonly fetch?: (request: FetchRequest) => Promise<string>
}

/**
 * A running simulator.
 *
 * @category models
 * @since 0.1.0
 */
export interface Simulator {
  readonly host: string
  readonly apiPort: number
  readonly apiSslPort: number | undefined
  readonly sshPort: number | undefined
  /** The SSH server's host key fingerprint, `SHA256:…` (to pin it), when SSH runs. */
  readonly sshHostKeySha256: string | undefined
  readonly profile: VersionProfile
  readonly clock: SimClock
  readonly faults: Faults
  /** Direct access to the device state (inspection, seeding). */
  readonly state: RouterState
  /** Runs a CLI script as the system (full policies); resolves to its output. */
  readonly run: (script: string, caller?: Caller) => Promise<string>
  /** `:log` lines and scheduler failures, oldest first. */
  readonly log: ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

const defaultFetch =
  (trusted: ReadonlyArray<string | Buffer>) =>
  (request: FetchRequest): Promise<string> =>
    new Promise((resolve, reject) => {
      const url = new URL(request.url)
      const options: https.RequestOptions = {
        method: request.method,
        headers: { ...request.headers, ...(request.body !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
        rejectUnauthorized: request.checkCertificate,
        ...(trusted.length > 0 ? { ca: [...trusted] } : {})
      }
      const client = url.protocol === "https:" ? https : http
      const req = client.request(url, options, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("latin1")
          if ((res.statusCode ?? 500) >= 400) reject(new Error(`failure: closing connection: <${res.statusCode} ${res.statusMessage}>`))
          else resolve(body)
        })
      })
      req.setTimeout(10_000, () => req.destroy(new Error("failure: connection timeout")))
      req.on("error", reject)
      if (request.body !== undefined) req.write(request.body)
      req.end()
    })

/**
 * Starts a simulated device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startSimulator = async (options: SimulatorOptions = {}): Promise<Simulator> => {
  const host = options.host ?? "127.0.0.1"
  const profile = options.profile ?? "v7"
  const frozen = options.clock === "frozen"
  let base = options.startAt ?? Date.now()
  const hostStart = Date.now()
  const now = () => (frozen ? base : base + (Date.now() - hostStart))
  const log: Array<string> = []
  const state = new RouterState({
    traits: profiles[profile],
    identity: options.identity ?? "MikroTik",
    adminPassword: options.adminPassword ?? "",
    now,
    removeKillsSessions: options.removeKillsSessions ?? false
  })
  const fetchImpl = options.fetch ?? defaultFetch(options.trustedCertificates ?? [])
  const interpreter = new CliInterpreter(state, {
    fetch: async (request) => {
      try {
        return await fetchImpl(request)
      } catch (error) {
        throw new RosError(error instanceof Error ? error.message : String(error), 4)
      }
    },
    log: (topic, message) => log.push(`${topic}: ${message}`)
  })
  state.runScript = (source, caller) => interpreter.run(source, caller)
  const faults = new Faults()
  let firing: Promise<void> = Promise.resolve()
  const fire = () => {
    firing = firing
      .then(() => state.fireDue())
      .catch((error: unknown) => {
        log.push(`error: scheduler: ${String(error)}`)
      })
    return firing
  }
  const clock: SimClock = {
    now,
    advance: (ms) => {
      base += ms
      return fire()
    },
    set: (epochMs) => {
      base = frozen ? epochMs : epochMs - (Date.now() - hostStart)
      return fire()
    }
  }
  const closeNet = (server: net.Server) => () => new Promise<void>((resolve) => server.close(() => resolve()))
  const closers: Array<() => Promise<void>> = []
  const api = await startApiServer(state, faults, { host, port: options.apiPort ?? 0 })
  closers.push(closeNet(api))
  let apiSslPort: number | undefined
  if (options.apiTls !== undefined) {
    const apiSsl = await startApiServer(state, faults, { host, port: options.apiSslPort ?? 0, tls: options.apiTls })
    closers.push(closeNet(apiSsl))
    apiSslPort = (apiSsl.address() as net.AddressInfo).port
  }
  let sshPort: number | undefined
  let sshHostKeySha256: string | undefined
  if (options.sshPort !== false) {
    const keys = hostKeyPair()
    const hostKey = keys.private
    const blob = Buffer.from(keys.public.split(" ")[1] ?? "", "base64")
    sshHostKeySha256 = fingerprint(blob)
    const ssh = await startSshServer(state, interpreter, faults, { host, port: options.sshPort ?? 0, hostKey })
    closers.push(ssh.close)
    sshPort = ssh.port
  }
  const ticker = frozen ? undefined : setInterval(() => void fire(), 250)
  ticker?.unref()
  return {
    host,
    apiPort: (api.address() as net.AddressInfo).port,
    apiSslPort,
    sshPort,
    sshHostKeySha256,
    profile,
    clock,
    faults,
    state,
    log,
    run: (script, caller) => interpreter.run(script, caller ?? { user: "admin", policies: allPolicies }),
    stop: async () => {
      if (ticker) clearInterval(ticker)
      faults.setOffline(true)
      await Promise.all(closers.map((close) => close()))
      await firing
    }
  }
}

/**
 * A `Device` record pointing at a simulator (tunnel address = its host, ports = its API and
 * SSH ports), for wiring the adapter or the example server to it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const deviceFor = (
  sim: Simulator,
  options: {
    readonly id: string
    readonly regionId: string
    readonly mode?: "push" | "pull"
    readonly name?: string
    /** Default: RouterOS's default configuration, `192.168.88.1/24` on the bridge. */
    readonly lanAddresses?: ReadonlyArray<string>
  }
): Topology.Device => ({
  id: options.id as Ids.DeviceId,
  regionId: options.regionId as Ids.RegionId,
  tunnelAddress: sim.host,
  ports: { ssh: sim.sshPort ?? 22, winbox: 8291, api: sim.apiPort },
  mode: options.mode ?? "push",
  // RouterOS default configuration: "192.168.88.1/24 on the bridge interface"
  // (help.mikrotik.com, "Default configurations"); the simulator's dst-nat targets sit there.
  lanAddresses: options.lanAddresses ?? ["192.168.88.1/24"],
  ...(options.name !== undefined ? { name: options.name } : {})
})
