/**
 * The background workers of one process: outbox relay, job runner, expiry sweep and
 * reconciler, each a loop that logs and survives its own failures. Any number of
 * processes may run them at once.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EngineConfig } from "./EngineConfig.ts"
import { sweepOnce } from "./ExpirySweep.ts"
import { runContinuously } from "./JobRunner.ts"
import { relayOnce } from "./OutboxRelay.ts"
import { reconcileOnce } from "./Reconciler.ts"
import { randomToken } from "./internal/randomToken.ts"

const loop = <E, R>(name: string, body: Effect.Effect<unknown, E, R>, intervalMs: (busy: boolean) => number) =>
  Effect.gen(function* () {
    while (true) {
      // Failures and defects alike are logged; the loop goes on.
      const result = yield* Effect.result(Effect.sandbox(body))
      if (result._tag === "Failure") yield* Effect.logWarning(`${name} failed; retrying`, result.failure)
      const busy = result._tag === "Success" && typeof result.success === "number" && result.success > 0
      const pause = intervalMs(busy)
      if (pause > 0) yield* Effect.sleep(pause)
    }
  })

/**
 * Runs every worker until interrupted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = (options: { readonly consumer?: string } = {}) =>
  Effect.gen(function* () {
    const settings = yield* EngineConfig
    const consumer = options.consumer ?? `worker-${randomToken(8)}`
    yield* Effect.all(
      [
        loop("outbox relay", relayOnce(), (busy) => (busy ? 0 : settings.relayIntervalMs)),
        loop("job runner", runContinuously({ consumer }), () => 100),
        loop("expiry sweep", sweepOnce(), (busy) => (busy ? 0 : settings.sweepIntervalMs)),
        loop("reconciler", reconcileOnce(), () => settings.reconcileIntervalMs)
      ],
      { concurrency: "unbounded", discard: true }
    )
  })

/**
 * A layer that runs the workers in the background for as long as it is alive.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: { readonly consumer?: string } = {}) => Layer.effectDiscard(Effect.forkScoped(run(options)))
