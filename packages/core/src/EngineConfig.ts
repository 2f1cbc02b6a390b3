/**
 * Tunables of the engine, with safe defaults. Limits can be made stricter, never looser
 * than the hard limits (24 h TTL).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"

/**
 * The longest TTL the SDK ever grants: 24 hours. A longer request is rejected, never clamped.
 *
 * @category constructors
 * @since 0.1.0
 */
export const hardMaxTtlMs = 24 * 60 * 60 * 1000

/**
 * Engine settings.
 *
 * @category models
 * @since 0.1.0
 */
export interface EngineSettings {
  /** Shortest TTL accepted (default 1 minute). */
  readonly minTtlMs: number
  /** Longest TTL accepted (default and ceiling 24 hours). */
  readonly maxTtlMs: number
  /** Shortest IPv4 prefix accepted as a source (default 16); `/0` never unless `allowAnySource`. */
  readonly minPrefixV4: number
  /** Shortest IPv6 prefix accepted as a source (default 48). */
  readonly minPrefixV6: number
  /** Allow `0.0.0.0/0` and `::/0` (default false). */
  readonly allowAnySource: boolean
  /** A freed port is not handed out again for this long (default 0). */
  readonly portCooldownMs: number
  /** Provisioning attempts before the grant is revoked as `failed` (default 8). */
  readonly provisionAttempts: number
  /** Failed remove attempts after which a revoke is flagged `revokeStuck` (default 6). */
  readonly stuckAfterAttempts: number
  /** First retry delay of a job (default 1 s), doubled per attempt with jitter. */
  readonly retryBaseMs: number
  /** Ceiling of the retry delay (default 5 minutes). */
  readonly retryMaxMs: number
  /** How often the expiry sweep runs (default 1 s). */
  readonly sweepIntervalMs: number
  /** How often the reconciler runs (default 30 s). */
  readonly reconcileIntervalMs: number
  /** How often the outbox relay polls (default 200 ms). */
  readonly relayIntervalMs: number
  /** An outbox job not completed this long after publication is published again (default 60 s). */
  readonly republishAfterMs: number
  /** Jobs executed at once by one worker process (default 16). */
  readonly jobConcurrency: number
}

/**
 * The defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaults: EngineSettings = {
  minTtlMs: Duration.toMillis(Duration.minutes(1)),
  maxTtlMs: hardMaxTtlMs,
  minPrefixV4: 16,
  minPrefixV6: 48,
  allowAnySource: false,
  portCooldownMs: 0,
  provisionAttempts: 8,
  stuckAfterAttempts: 6,
  retryBaseMs: 1_000,
  retryMaxMs: 5 * 60_000,
  sweepIntervalMs: 1_000,
  reconcileIntervalMs: 30_000,
  relayIntervalMs: 200,
  republishAfterMs: 60_000,
  jobConcurrency: 16
}

/**
 * The engine settings in use (a reference with the defaults).
 *
 * @category services
 * @since 0.1.0
 */
export const EngineConfig = Context.Reference<EngineSettings>("@transient-access/core/EngineConfig", {
  defaultValue: () => defaults
})

/**
 * Merges overrides into the defaults; a `maxTtlMs` above 24 h is lowered to 24 h
 * (the ceiling can be made stricter, never looser).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (overrides: Partial<EngineSettings> = {}): EngineSettings => {
  const merged = { ...defaults, ...overrides }
  return { ...merged, maxTtlMs: Math.min(merged.maxTtlMs, hardMaxTtlMs) }
}
