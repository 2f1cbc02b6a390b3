/**
 * The API transport's connections: one node-routeros connection per device, shared by
 * concurrent calls and re-made after any failure, with the containment described in
 * `ApiTransport` (deadlines, `'error'` listeners, explicit ports, Windows-1252 checks, typed
 * trap reasons), and the `MenuClient` over it; also the transport's options, which
 * `ApiTransport` re-exports.
 *
 * @since 0.1.0
 */
import type * as tls from "node:tls"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { RouterOSAPI } from "node-routeros"
import type { Grant, TargetError, Topology } from "@transient-access/core"
import { ConnectionPool } from "./ConnectionPool.ts"
import { type Menu, type MenuClient, type Selector, clockOfRow, deviceError, reasonOfMessage, selects } from "./menuClient.ts"
import { applyNodeRouterosPatches, survivesCp1252 } from "./nodeRouterosPatches.ts"

/**
 * API login of a device.
 *
 * @inline
 * @category models
 * @since 0.1.0
 */
export interface ApiCredentials {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

/**
 * Options of the API transport.
 *
 * @inline
 * @category models
 * @since 0.1.0
 */
export interface ApiOptions {
  /** The SDK's own login on each device. */
  readonly credentials: (device: Topology.Device) => ApiCredentials
  /** Use api-ssl: `true` (system CAs) or TLS options (e.g. `{ ca }`, or anonymous-DH ciphers). */
  readonly tls?: boolean | tls.ConnectionOptions
  /** Host to connect to (default: the device's tunnel address). */
  readonly host?: (device: Topology.Device) => string
  /** Port (default: `device.ports.api`, or 8729 with TLS when that is 8728). */
  readonly port?: (device: Topology.Device) => number
  /** Deadline of every call, including connect and login (default 10 s). */
  readonly callTimeoutMs?: number
  /** node-routeros idle timeout in seconds: an idle connection is dropped and re-made (default 30). */
  readonly idleTimeoutSeconds?: number
  /**
   * Group per permission (default `full` → `full`, `read-only` → `read`). MikroTik warns that
   * even `read` includes `sensitive`, `reboot`…; a least-privilege custom group is documented
   * in docs/adapter-routeros.md.
   */
  readonly groups?: Readonly<Record<Grant.Permission, string>>
  /** Policy of the expiry scheduler entries (default `read,write,policy,test`). */
  readonly schedulerPolicy?: string
}

type Rows = ReadonlyArray<Record<string, string>>

class Failure extends Error {
  readonly reason: TargetError.TargetErrorReason
  constructor(reason: TargetError.TargetErrorReason, message: string) {
    super(message)
    this.reason = reason
  }
}

const classify = (error: unknown): Failure => {
  if (error instanceof Failure) return error
  if (typeof error === "string") return new Failure("Unknown", error) // 'ALRDYCONNECTING' is a string [SRC]
  const record = error as { message?: string; errno?: unknown; name?: string }
  const errno = record.errno
  if (errno === "CANTLOGIN") return new Failure("Rejected", "login failed (invalid user name or password)")
  if (errno === "SOCKTMOUT") return new Failure("Timeout", "socket timed out")
  if (typeof errno === "number" || (typeof errno === "string" && /^E[A-Z]+$/.test(errno))) {
    return new Failure("Unreachable", `connection failed (errno ${String(errno)})`)
  }
  const message = record.message ?? String(error)
  if (record.name === "RosException") return new Failure("Unreachable", message || "connection failed")
  return new Failure(reasonOfMessage(message), message)
}

/** One logged-in connection and the calls waiting on it. */
class Connection {
  alive = true
  private readonly waiting = new Set<(failure: Failure) => void>()
  readonly api: RouterOSAPI

  constructor(api: RouterOSAPI) {
    this.api = api
  }

  /** Marks the connection dead and fails every waiting call. */
  kill(failure: Failure): void {
    if (!this.alive) return
    this.alive = false
    for (const fail of this.waiting) fail(failure)
    this.waiting.clear()
    void this.api.close().catch(() => {})
  }

  write(words: ReadonlyArray<string>, deadlineMs: number): Promise<Rows> {
    return new Promise<Rows>((resolve, reject) => {
      let settled = false
      const settle = (action: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        this.waiting.delete(fail)
        action()
      }
      const fail = (failure: Failure) => settle(() => reject(failure))
      const timer = setTimeout(() => {
        fail(new Failure("Timeout", `no reply within ${deadlineMs} ms`))
        this.kill(new Failure("Unreachable", "connection discarded after a timed-out call"))
      }, deadlineMs)
      this.waiting.add(fail)
      this.api.write(words[0]!, words.slice(1) as Array<string>).then(
        (rows) => settle(() => resolve(rows as Rows)),
        (error: unknown) => settle(() => reject(classify(error)))
      )
    })
  }
}

/**
 * A pool of one connection per device (node-routeros, patched).
 *
 * @category models
 * @since 0.1.0
 */
export class ApiPool {
  private readonly connections = new ConnectionPool<Connection>()
  private readonly options: ApiOptions

  constructor(options: ApiOptions) {
    applyNodeRouterosPatches()
    this.options = options
  }

  private get deadline(): number {
    return this.options.callTimeoutMs ?? 10_000
  }

  private connect(device: Topology.Device): Promise<Connection> {
    const credentials = this.options.credentials(device)
    const tlsOption = this.options.tls === true ? {} : this.options.tls === false ? undefined : this.options.tls
    const port = this.options.port?.(device) ?? (tlsOption !== undefined && device.ports.api === 8728 ? 8729 : device.ports.api)
    const api = new RouterOSAPI({
      host: this.options.host?.(device) ?? device.tunnelAddress,
      port, // always explicit: with TLS node-routeros otherwise keeps 8728 [EXP probe4]
      user: credentials.user,
      password: Redacted.value(credentials.password),
      timeout: this.options.idleTimeoutSeconds ?? 30,
      // node-routeros types `tls` with an outdated TlsOptions shape; the object is passed to tls.connect as is
      ...(tlsOption !== undefined ? { tls: tlsOption as never } : {})
    })
    const connection = new Connection(api)
    const key = device.id as string
    const drop = (failure: Failure) => {
      connection.kill(failure)
      this.connections.forget(key, pending)
    }
    // Without an 'error' listener an idle timeout or socket error crashes the process [OBS I1, I2].
    api.on("error", (error: unknown) => drop(classify(error)))
    api.on("close", () => drop(new Failure("Unreachable", "connection closed by the device")))
    const pending = new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => {
        drop(new Failure("Timeout", `connect/login not done within ${this.deadline} ms`))
        reject(new Failure("Timeout", `connect/login not done within ${this.deadline} ms`))
      }, this.deadline)
      api.connect().then(
        () => {
          clearTimeout(timer)
          resolve(connection)
        },
        (error: unknown) => {
          clearTimeout(timer)
          const failure = classify(error)
          drop(failure)
          reject(failure)
        }
      )
    })
    return pending
  }

  private connection(device: Topology.Device): Promise<Connection> {
    return this.connections.acquire(device.id, () => this.connect(device))
  }

  /** Runs one API command (`words[0]` is the command path). */
  write(device: Topology.Device, words: ReadonlyArray<string>): Effect.Effect<Rows, TargetError.DeviceGatewayError> {
    const target = `device:${device.id}`
    return Effect.tryPromise({
      try: async () => {
        for (const word of words) {
          if (!survivesCp1252(word)) {
            throw new Failure("Rejected", "value contains characters node-routeros would transcode to '?' (Windows-1252)")
          }
        }
        const connection = await this.connection(device)
        return connection.write(words, this.deadline)
      },
      catch: (error) => {
        const failure = classify(error)
        return deviceError(failure.reason, target, failure.message)
      }
    })
  }

  /** Closes every connection. */
  closeAll(): Promise<void> {
    const all = this.connections.drain()
    return Promise.all(
      all.map((pending) =>
        pending.then(
          (connection) => connection.kill(new Failure("Unreachable", "pool closed")),
          () => {}
        )
      )
    ).then(() => {})
  }
}

const path = (menu: Menu, verb: string) => `/${[...menu, verb].join("/")}`

/**
 * The menu client of one device over a pool.
 *
 * @category constructors
 * @since 0.1.0
 */
export const apiMenuClient = (pool: ApiPool, device: Topology.Device): MenuClient => {
  const ignoreMissing = <A>(effect: Effect.Effect<A, TargetError.DeviceGatewayError>) =>
    effect.pipe(
      Effect.asVoid,
      Effect.catchIf(
        (error: TargetError.DeviceGatewayError) => error.reason === "NotFound",
        () => Effect.void
      )
    )
  const list = (menu: Menu, where: Selector, fields: ReadonlyArray<string>) =>
    pool
      .write(device, [
        path(menu, "print"),
        `=.proplist=${[".id", where.field, ...fields].join(",")}`,
        // API queries are exact-match only; a prefix is filtered here [DOC A1: no regex]
        ...(where.match === "eq" ? [`?${where.field}=${where.value}`] : [])
      ])
      .pipe(Effect.map((rows) => rows.filter((row) => selects(row, where))))
  const attrWords = (attrs: Readonly<Record<string, string>>) => Object.entries(attrs).map(([key, value]) => `=${key}=${value}`)
  const ids = (menu: Menu, where: Selector) => list(menu, where, []).pipe(Effect.map((rows) => rows.map((row) => row[".id"] ?? "")))
  return {
    list,
    add: (menu, attrs) => pool.write(device, [path(menu, "add"), ...attrWords(attrs)]).pipe(Effect.asVoid),
    update: (menu, where, attrs) =>
      Effect.gen(function* () {
        for (const id of yield* ids(menu, where)) {
          yield* pool.write(device, [path(menu, "set"), `=.id=${id}`, ...attrWords(attrs)]).pipe(ignoreMissing)
        }
      }),
    remove: (menu, where) =>
      Effect.gen(function* () {
        for (const id of yield* ids(menu, where)) {
          yield* pool.write(device, [path(menu, "remove"), `=.id=${id}`]).pipe(ignoreMissing) // "no such item" is success
        }
      }),
    logout: (name) =>
      Effect.gen(function* () {
        for (const id of yield* ids(["user", "active"], { field: "name", value: name, match: "eq" })) {
          yield* pool.write(device, ["/user/active/request-logout", `=numbers=${id}`]).pipe(ignoreMissing)
        }
      }),
    clock: pool.write(device, ["/system/clock/print"]).pipe(Effect.flatMap((rows) => clockOfRow(`device:${device.id}`, rows[0])))
  }
}
