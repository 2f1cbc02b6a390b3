/**
 * Cutting established flows: `conntrack -D` for the DNATed TCP flows of one public port
 * (and public address, when configured). Exit status 1 with "0 flow entries" means nothing
 * matched, which is success.
 *
 * @since 0.1.0
 */
import type { TargetError } from "@transient-access/core"
import * as Effect from "effect/Effect"
import type { CommandRunner } from "../CommandRunner.ts"
import { firstLines, gatewayError, runRaw } from "./errors.ts"

/** Deletes the conntrack entries of DNATed TCP flows to `port`. */
export const cutFlows = (
  runner: CommandRunner["Service"],
  family: 4 | 6,
  port: number,
  publicAddress: string | undefined
): Effect.Effect<void, TargetError.RegionalGatewayError> =>
  runRaw(runner, [
    "conntrack",
    "-D",
    "-f",
    family === 4 ? "ipv4" : "ipv6",
    "-p",
    "tcp",
    "--orig-port-dst",
    String(port),
    ...(publicAddress === undefined ? [] : ["--orig-dst", publicAddress]),
    "--dst-nat"
  ]).pipe(
    Effect.flatMap((result) =>
      result.exitCode === 0 || (result.exitCode === 1 && /0 flow entries/.test(result.stderr))
        ? Effect.void
        : Effect.fail(gatewayError(runner.target, "Unknown", `conntrack -D exited ${result.exitCode}: ${firstLines(result.stderr)}`))
    )
  )
