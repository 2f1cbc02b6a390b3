/**
 * A clock that moves only when told: `sleep` returns at once (the test drives time), and
 * `advance` moves the time. For deterministic, step-by-step tests of the workers.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * A manual clock and its controls.
 *
 * @category testing
 * @since 0.1.0
 */
export interface ManualClock {
  readonly clock: Clock.Clock
  readonly now: () => number
  readonly advance: (ms: number) => void
  readonly set: (ms: number) => void
}

/**
 * Builds a manual clock starting at `start` (epoch ms).
 *
 * @category testing
 * @since 0.1.0
 */
export const make = (start: number): ManualClock => {
  let now = start
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => now,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => BigInt(now) * 1_000_000n,
    monotonicTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: () => Effect.yieldNow
  }
  return {
    clock,
    now: () => now,
    advance: (ms) => {
      now += ms
    },
    set: (ms) => {
      now = ms
    }
  }
}
