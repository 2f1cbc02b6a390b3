/**
 * Translation of command failures into the port's `RegionalGatewayError`, and the checked
 * command helper every backend uses.
 *
 * @since 0.1.0
 */
import { TargetError } from "@transient-access/core"
import * as Effect from "effect/Effect"
import type { CommandError, CommandResult, CommandRunner, RunOptions } from "../CommandRunner.ts"

/** A gateway error for `target`. */
export const gatewayError = (
  target: string,
  reason: TargetError.TargetErrorReason,
  message: string,
  cause?: unknown
): TargetError.RegionalGatewayError =>
  new TargetError.RegionalGatewayError({ reason, message, target, ...(cause === undefined ? {} : { cause }) })

/** Maps a runner failure to the port's reasons. */
export const fromCommandError =
  (target: string) =>
  (error: CommandError): TargetError.RegionalGatewayError =>
    gatewayError(target, error.reason, error.message, error)

/** First line of a program's error output, bounded, for messages. */
export const firstLines = (text: string): string => text.trim().split("\n").slice(0, 3).join(" | ").slice(0, 400)

/** Runs a command and returns its result; runner failures become gateway errors. */
export const runRaw = (runner: CommandRunner["Service"], argv: ReadonlyArray<string>, options?: RunOptions) =>
  runner.run(argv, options).pipe(Effect.mapError(fromCommandError(runner.target)))

/** Runs a command that must exit 0; anything else fails `Unknown` with its stderr. */
export const runChecked = (
  runner: CommandRunner["Service"],
  argv: ReadonlyArray<string>,
  options?: RunOptions
): Effect.Effect<CommandResult, TargetError.RegionalGatewayError> =>
  runRaw(runner, argv, options).pipe(
    Effect.flatMap((result) =>
      result.exitCode === 0
        ? Effect.succeed(result)
        : Effect.fail(gatewayError(runner.target, "Unknown", `${argv[0]} exited ${result.exitCode}: ${firstLines(result.stderr)}`))
    )
  )
