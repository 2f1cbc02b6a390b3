/**
 * A `CommandRunner` on a remote regional server over SSH, backed by `ssh2`.
 *
 * - **One persistent connection per runner**, opened on first use and shared by every
 *   command (one SSH channel each). When it drops, the next command reconnects with
 *   exponential backoff; after the configured attempts the command fails `Unreachable`.
 * - **Host key pinned**: the server's key must match the configured OpenSSH fingerprint
 *   (`SHA256:…`, as `ssh-keygen -lf` prints it); anything else aborts the handshake.
 * - Authentication by private key (`Redacted`, never logged) and/or an SSH agent socket.
 * - Commands: the argv goes through the package's one escaping function
 *   ({@link quoteArgv}) because an SSH `exec` request carries a string that the remote
 *   login shell (POSIX) splits again. Each command has a timeout; on expiry its channel is
 *   closed and the command fails `Timeout`.
 *
 * Lifecycle: the connection belongs to the layer's scope and is closed with it.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { Duplex } from "node:stream"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Semaphore from "effect/Semaphore"
import { Client, type ClientChannel, type ConnectConfig } from "ssh2"
import { CommandError, type CommandResult, CommandRunner, withTimeout } from "./CommandRunner.ts"
import { quoteArgv } from "./internal/shellQuote.ts"

/**
 * Options of the SSH runner.
 *
 * @category models
 * @since 0.1.0
 */
export interface SshOptions {
  readonly host: string
  /** Default 22. */
  readonly port?: number
  readonly username: string
  /** The pinned host key fingerprint, `SHA256:<base64 without padding>`. */
  readonly hostKeySha256: string
  /** PEM/OpenSSH private key text. */
  readonly privateKey?: Redacted.Redacted<string>
  readonly passphrase?: Redacted.Redacted<string>
  /** Path of an SSH agent socket (e.g. `SSH_AUTH_SOCK`). */
  readonly agent?: string
  /** Prepended to every argv on the server, e.g. `["sudo", "-n"]` or `["ip", "netns", "exec", "x"]`. */
  readonly prefix?: ReadonlyArray<string>
  /** Handshake timeout (default 10 s). */
  readonly connectTimeout?: Duration.Input
  /** Default per-command timeout (default 30 s). */
  readonly timeout?: Duration.Input
  /** Reconnect attempts after the first failure (default 4), backoff from 200 ms doubling, capped at 5 s. */
  readonly reconnectAttempts?: number
  /**
   * Like OpenSSH's `ProxyCommand`: an argv spawned on this host (no shell) whose stdin and
   * stdout carry the SSH stream, e.g. `["ip", "netns", "exec", "mgmt", "nc", host, "22"]`.
   * `host` and `port` are then only used for labels.
   */
  readonly proxyCommand?: ReadonlyArray<string>
}

/**
 * The OpenSSH-style fingerprint of a public key blob: `SHA256:<base64 without padding>`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fingerprint = (keyBlob: Buffer): string => `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`

const unreachable = (message: string, cause?: unknown) => new CommandError({ reason: "Unreachable", message, program: "ssh", cause })

/** Spawns the proxy command and joins its stdio into one stream. */
const proxySocket = (argv: ReadonlyArray<string>): Duplex => {
  const [program = "", ...args] = argv
  const child = spawn(program, args, { shell: false, stdio: ["pipe", "pipe", "ignore"] })
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin })
  socket.on("close", () => child.kill("SIGTERM"))
  child.on("exit", () => socket.destroy())
  return socket
}

const connectOnce = (baseConfig: ConnectConfig, label: string, proxyCommand: ReadonlyArray<string> | undefined) =>
  Effect.callback<Client, CommandError>((resume) => {
    const client = new Client()
    const config: ConnectConfig = proxyCommand === undefined ? baseConfig : { ...baseConfig, sock: proxySocket(proxyCommand) }
    let settled = false
    client.once("ready", () => {
      settled = true
      resume(Effect.succeed(client))
    })
    client.once("error", (cause) => {
      if (settled) return
      settled = true
      resume(Effect.fail(unreachable(`cannot connect to ${label}: ${cause.message}`, cause)))
    })
    client.once("close", () => {
      if (settled) return
      settled = true
      resume(Effect.fail(unreachable(`connection to ${label} closed during the handshake`)))
    })
    client.connect(config)
    return Effect.sync(() => client.end())
  })

const execOnce = (client: Client, command: string, stdin: string | undefined, program: string) =>
  Effect.callback<CommandResult, CommandError>((resume) => {
    let channel: ClientChannel | undefined
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    try {
      client.exec(command, (error, opened) => {
        if (error) {
          resume(Effect.fail(new CommandError({ reason: "Unreachable", message: `exec failed: ${error.message}`, program, cause: error })))
          return
        }
        channel = opened
        opened.on("data", (chunk: Buffer) => stdout.push(chunk))
        opened.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
        opened.on("close", (code: number | null, signal?: string) =>
          resume(
            Effect.succeed({
              exitCode: code ?? (signal === undefined ? 1 : 128),
              stdout: Buffer.concat(stdout).toString("utf8"),
              stderr: Buffer.concat(stderr).toString("utf8")
            })
          )
        )
        opened.end(stdin ?? "")
      })
    } catch (cause) {
      resume(Effect.fail(new CommandError({ reason: "Unreachable", message: "exec failed", program, cause })))
    }
    return Effect.sync(() => channel?.close())
  })

/**
 * Builds the runner; the connection is closed when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: SshOptions) {
  const label = `ssh:${options.username}@${options.host}:${options.port ?? 22}`
  const prefix = options.prefix ?? []
  const defaultTimeout = options.timeout ?? "30 seconds"
  const config: ConnectConfig = {
    host: options.host,
    port: options.port ?? 22,
    username: options.username,
    readyTimeout: Duration.toMillis(Duration.fromInputUnsafe(options.connectTimeout ?? "10 seconds")),
    keepaliveInterval: 15_000,
    hostVerifier: (key: Buffer) => fingerprint(key) === options.hostKeySha256,
    ...(options.privateKey ? { privateKey: Redacted.value(options.privateKey) } : {}),
    ...(options.passphrase ? { passphrase: Redacted.value(options.passphrase) } : {}),
    ...(options.agent !== undefined ? { agent: options.agent } : {})
  }
  const backoff = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("5 seconds")]).pipe(
    Schedule.upTo({ times: options.reconnectAttempts ?? 4 })
  )
  const lock = yield* Semaphore.make(1)
  let current: Client | undefined
  yield* Effect.addFinalizer(() => Effect.sync(() => current?.end()))

  const connection = Semaphore.withPermit(lock)(
    Effect.suspend(() => {
      if (current !== undefined) return Effect.succeed(current)
      return connectOnce(config, label, options.proxyCommand).pipe(
        Effect.retry(backoff),
        Effect.tap((client) =>
          Effect.sync(() => {
            current = client
            const forget = () => {
              if (current === client) current = undefined
            }
            client.on("close", forget)
            client.on("end", forget)
            client.on("error", forget)
          })
        )
      )
    })
  )

  return CommandRunner.of({
    target: label,
    run: (argv, runOptions) => {
      const program = argv[0] ?? ""
      return Effect.suspend(() => {
        let command: string
        try {
          command = quoteArgv([...prefix, ...argv])
        } catch (cause) {
          return Effect.fail(new CommandError({ reason: "Rejected", message: "argument cannot be sent", program, cause }))
        }
        return connection.pipe(
          Effect.flatMap((client) => execOnce(client, command, runOptions?.stdin, program)),
          withTimeout(program, runOptions?.timeout ?? defaultTimeout)
        )
      })
    }
  })
})

/**
 * The SSH runner as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: SshOptions): Layer.Layer<CommandRunner> => Layer.effect(CommandRunner, make(options))
