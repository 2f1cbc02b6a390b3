/**
 * The SSH transport's connections: one ssh2 connection per device, reused and re-made after
 * errors, each call one `exec` channel with a deadline and a sentinel (see `SshTransport`),
 * and the `MenuClient` over it (commands rendered by `RosScript`, reads parsed from
 * `print terse`); also the transport's options, which `SshTransport` re-exports.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import * as net from "node:net"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import ssh2 from "ssh2"
import type { Grant, TargetError, Topology } from "@transient-access/core"
import { type Arg, command, quote, raw } from "../RosScript.ts"
import { ConnectionPool } from "./ConnectionPool.ts"
import { type Menu, type MenuClient, type Selector, clockOfRow, deviceError, reasonOfMessage } from "./menuClient.ts"

/**
 * Options of the SSH transport.
 *
 * @inline
 * @category models
 * @since 0.1.0
 */
export type SshOptions = SshBaseOptions & HostKeyCheck

/**
 * How the transport trusts a device's host key: exactly one of a pinned fingerprint per
 * device, a verifier of your own, or an explicit, logged opt-out for tests. There is no
 * default: a transport without one of them refuses every connection.
 *
 * @inline
 * @category models
 * @since 0.2.0
 */
export type HostKeyCheck =
  | {
      /** The device's pinned key, OpenSSH style: `SHA256:<base64 without padding>` (`ssh-keygen -lf`). */
      readonly hostKeySha256: (device: Topology.Device) => string
      readonly hostVerifier?: never
      readonly acceptAnyHostKey?: never
    }
  | {
      /** Verifies the device's host key, given as the raw public key blob. */
      readonly hostVerifier: (device: Topology.Device, key: Buffer) => boolean
      readonly hostKeySha256?: never
      readonly acceptAnyHostKey?: never
    }
  | {
      /** Accept any host key (tests only): logged as a warning when the layer is built. */
      readonly acceptAnyHostKey: true
      readonly hostKeySha256?: never
      readonly hostVerifier?: never
    }

/**
 * The OpenSSH-style fingerprint of a public key blob: `SHA256:<base64 without padding>`.
 *
 * @category utils
 * @since 0.2.0
 */
export const fingerprint = (keyBlob: Buffer): string => `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`

/** Whether `key` is the device's host key under `check`; `false` without any check (fail closed). */
export const trustsHostKey = (check: Partial<HostKeyCheck>, device: Topology.Device, key: Buffer): boolean => {
  if (check.hostVerifier !== undefined) return check.hostVerifier(device, key)
  if (check.hostKeySha256 !== undefined) return fingerprint(key) === check.hostKeySha256(device)
  return check.acceptAnyHostKey === true
}

/**
 * Options of the SSH transport besides the host key check.
 *
 * @inline
 * @category models
 * @since 0.2.0
 */
export interface SshBaseOptions {
  readonly credentials: (device: Topology.Device) => { readonly user: string; readonly password: Redacted.Redacted<string> }
  /** Host to connect to (default: the device's tunnel address). */
  readonly host?: (device: Topology.Device) => string
  /** Port (default `device.ports.ssh`). */
  readonly port?: (device: Topology.Device) => number
  /** Deadline of every call, including connect (default 10 s). */
  readonly callTimeoutMs?: number
  /** Group per permission (default `full` → `full`, `read-only` → `read`); see `ApiTransport.ApiOptions`. */
  readonly groups?: Readonly<Record<Grant.Permission, string>>
  /** Policy of the expiry scheduler entries (default `read,write,policy,test`). */
  readonly schedulerPolicy?: string
}

/**
 * Parses `print terse` output: one item per line, flags (`X` = disabled), `name=value` tokens.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseTerse = (output: string): ReadonlyArray<Record<string, string>> =>
  output
    .split(/\r?\n/)
    .filter((line) => /^\s*\d+\s/.test(line))
    .map((line) => {
      const row: Record<string, string> = { disabled: "false" }
      for (const token of line.trim().split(/\s+/).slice(1)) {
        const eq = token.indexOf("=")
        if (eq === -1) {
          if (token.includes("X")) row.disabled = "true"
          continue
        }
        row[token.slice(0, eq)] = token.slice(eq + 1)
      }
      return row
    })

const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")

const whereArg = (where: Selector): Arg =>
  where.match === "eq"
    ? raw(`where ${where.field}=${quote(where.value)}`)
    : raw(`where ${where.field}~${quote(`^${escapeRegex(where.value)}`)}`)

const selector = (where: Selector): Arg => raw(`[find ${(whereArg(where) as { raw: string }).raw}]`)

class SshConnection {
  alive = true
  readonly client: ssh2.Client
  constructor(client: ssh2.Client) {
    this.client = client
  }
}

/**
 * A pool of one SSH connection per device.
 *
 * @category models
 * @since 0.1.0
 */
export class SshPool {
  private readonly connections = new ConnectionPool<SshConnection>()
  private readonly options: SshOptions

  constructor(options: SshOptions) {
    this.options = options
  }

  private get deadline(): number {
    return this.options.callTimeoutMs ?? 10_000
  }

  private connect(device: Topology.Device): Promise<SshConnection> {
    const key = device.id as string
    const credentials = this.options.credentials(device)
    const client = new ssh2.Client()
    const socket = net.connect({
      host: this.options.host?.(device) ?? device.tunnelAddress,
      port: this.options.port?.(device) ?? device.ports.ssh,
      noDelay: true
    })
    socket.on("error", () => {}) // reported through the ssh2 client
    const connection = new SshConnection(client)
    const pending = new Promise<SshConnection>((resolve, reject) => {
      const drop = (error: Error) => {
        connection.alive = false
        this.connections.forget(key, pending)
        reject(error)
      }
      client.on("ready", () => resolve(connection))
      client.on("error", drop) // an error listener is always attached: no crash on idle errors
      client.on("close", () => drop(new Error("connection closed")))
      client.connect({
        sock: socket, // our own socket: TCP_NODELAY (exec round trips otherwise wait for delayed ACKs)
        username: credentials.user,
        password: Redacted.value(credentials.password),
        readyTimeout: this.deadline,
        // fail closed: no pinned key, verifier or explicit opt-out means no key is trusted
        hostVerifier: (hostKey: Buffer) => trustsHostKey(this.options, device, hostKey)
      })
    })
    return pending
  }

  private connection(device: Topology.Device): Promise<SshConnection> {
    return this.connections.acquire(device.id, () => this.connect(device))
  }

  /** Runs a script; resolves to its output, or fails with the device's error text. */
  run(device: Topology.Device, script: string): Effect.Effect<string, TargetError.DeviceGatewayError> {
    const target = `device:${device.id}`
    const sentinel = `ta-ok-${randomBytes(8).toString("hex")}`
    const exec = async (): Promise<string> => {
      const connection = await this.connection(device)
      return new Promise<string>((resolve, reject) => {
        connection.client.exec(`${script}\n:put ${quote(sentinel)}`, (error, stream) => {
          if (error) {
            connection.alive = false
            return reject(error)
          }
          const chunks: Array<Buffer> = []
          stream.on("data", (chunk: Buffer) => chunks.push(chunk))
          stream.stderr.on("data", (chunk: Buffer) => chunks.push(chunk))
          stream.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")))
        })
      })
    }
    return Effect.tryPromise({
      try: () => exec(),
      catch: (error) => deviceError("Unreachable", target, `ssh: ${error instanceof Error ? error.message : String(error)}`)
    }).pipe(
      Effect.timeoutOrElse({
        duration: this.deadline,
        orElse: () => Effect.fail(deviceError("Timeout", target, `no reply within ${this.deadline} ms`))
      }),
      Effect.flatMap((output) => {
        if (output.includes(sentinel)) return Effect.succeed(output.replace(`${sentinel}`, ""))
        const message = output.trim().split(/\r?\n/).pop() ?? "command failed"
        return Effect.fail(deviceError(reasonOfMessage(message), target, message))
      })
    )
  }

  /** Closes every connection. */
  async closeAll(): Promise<void> {
    const all = this.connections.drain()
    await Promise.all(
      all.map((pending) =>
        pending.then(
          (connection) => connection.client.end(),
          () => {}
        )
      )
    )
  }
}

/**
 * The menu client of one device over SSH.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sshMenuClient = (pool: SshPool, device: Topology.Device): MenuClient => {
  const run = (script: string) => pool.run(device, script)
  const list = (menu: Menu, where: Selector, fields: ReadonlyArray<string>) =>
    run(command(menu, "print", { proplist: [where.field, ...fields].join(",") }, [raw("terse"), whereArg(where)])).pipe(
      Effect.map(parseTerse)
    )
  return {
    list,
    add: (menu, attrs) => run(command(menu, "add", attrs)).pipe(Effect.asVoid),
    update: (menu, where, attrs) => run(command(menu, "set", attrs, [selector(where)])).pipe(Effect.asVoid),
    remove: (menu, where) => run(command(menu, "remove", {}, [selector(where)])).pipe(Effect.asVoid),
    logout: (name) =>
      run(command(["user", "active"], "request-logout", {}, [selector({ field: "name", value: name, match: "eq" })])).pipe(Effect.asVoid),
    clock: run(command(["system", "clock"], "print", {}, [raw("terse")])).pipe(
      Effect.flatMap((output) => clockOfRow(`device:${device.id}`, parseTerse(output)[0]))
    )
  }
}
