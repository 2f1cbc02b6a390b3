/**
 * The `CommandRunner` service: runs one program as an argument vector (never through a
 * shell string built from input) on the regional server, optionally feeding it stdin, and
 * returns its exit code and output. A non-zero exit is a result, not an error: callers
 * decide what each exit code means (`conntrack -D` exits 1 when nothing matched).
 *
 * Implementations: {@link layerLocal} (`child_process.spawn` on this host, optionally behind
 * an argv prefix such as `ip netns exec <ns>`) and `SshCommandRunner.layer` (one persistent
 * `ssh2` connection per server).
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"

/**
 * What a finished command left behind.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Per-call options.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Written to the program's stdin, which is then closed. */
  readonly stdin?: string
  /** Overrides the runner's default timeout. */
  readonly timeout?: Duration.Input
}

/**
 * The command could not be run to completion: `Unreachable` (no connection, spawn failed),
 * `Timeout` (killed after the timeout; the command may have taken effect) or `Rejected`
 * (the argument vector cannot be sent).
 *
 * @category errors
 * @since 0.1.0
 */
export class CommandError extends Schema.TaggedError<CommandError>()("CommandError", {
  reason: Schema.Literals(["Unreachable", "Timeout", "Rejected"]),
  message: Schema.String,
  /** Program name only: arguments may carry data that does not belong in logs. */
  program: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Runs argument vectors on one server.
 *
 * @category services
 * @since 0.1.0
 */
export class CommandRunner extends Context.Service<
  CommandRunner,
  {
    /** A label for error messages (`local`, `ssh:root@10.0.0.1:22`). */
    readonly target: string
    readonly run: (argv: ReadonlyArray<string>, options?: RunOptions) => Effect.Effect<CommandResult, CommandError>
  }
>()("@transient-access/adapter-iptables/CommandRunner") {}

/**
 * Options of the local runner.
 *
 * @category models
 * @since 0.1.0
 */
export interface LocalOptions {
  /** Prepended to every argv, e.g. `["ip", "netns", "exec", "regional"]`. */
  readonly prefix?: ReadonlyArray<string>
  /** Default per-command timeout (default 30 s). */
  readonly timeout?: Duration.Input
}

/** Spawns `argv` without a shell and collects its output; kills it on interruption. */
const spawnCollect = (argv: ReadonlyArray<string>, stdin: string | undefined) =>
  Effect.callback<CommandResult, CommandError>((resume) => {
    const [program = "", ...args] = argv
    const child = spawn(program, args, { shell: false, stdio: ["pipe", "pipe", "pipe"] })
    const stdout: Array<Buffer> = []
    const stderr: Array<Buffer> = []
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on("error", () => {}) // EPIPE when the program exits without reading stdin
    child.on("error", (cause) =>
      resume(Effect.fail(new CommandError({ reason: "Unreachable", message: `cannot run ${program}: ${cause.message}`, program, cause })))
    )
    child.on("close", (code, signal) =>
      resume(
        Effect.succeed({
          exitCode: code ?? (signal === null ? 1 : 128),
          stdout: Buffer.concat(stdout).toString("utf8"),
          stderr: Buffer.concat(stderr).toString("utf8")
        })
      )
    )
    child.stdin.end(stdin ?? "")
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

/**
 * Applies a timeout to a running command, turning expiry into a `Timeout` error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const withTimeout =
  (program: string, timeout: Duration.Input) =>
  <A>(effect: Effect.Effect<A, CommandError>): Effect.Effect<A, CommandError> =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new CommandError({
              reason: "Timeout",
              message: `${program} did not finish within ${Duration.format(Duration.fromInputUnsafe(timeout))}`,
              program
            })
          )
      })
    )

/**
 * A runner that spawns programs on this host.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLocal = (options: LocalOptions = {}): CommandRunner["Service"] => {
  const prefix = options.prefix ?? []
  const defaultTimeout = options.timeout ?? "30 seconds"
  return {
    target: prefix.length > 0 ? `local:${prefix.join(" ")}` : "local",
    run: (argv, runOptions) => {
      const program = argv[0] ?? ""
      if (argv.length === 0 || argv.some((argument) => argument.includes("\u0000"))) {
        return Effect.fail(new CommandError({ reason: "Rejected", message: "empty argv or NUL byte in an argument", program }))
      }
      return spawnCollect([...prefix, ...argv], runOptions?.stdin).pipe(withTimeout(program, runOptions?.timeout ?? defaultTimeout))
    }
  }
}

/**
 * The local runner as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerLocal = (options: LocalOptions = {}): Layer.Layer<CommandRunner> => Layer.succeed(CommandRunner, makeLocal(options))
