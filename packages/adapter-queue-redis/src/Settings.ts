/**
 * Options of the Redis queue, validated with Schema, and their defaults.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { KeyPrefix } from "./internal/keys.ts"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * The options (every field optional; see `defaults`).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Options = Schema.Struct({
  /** Prefix of every key (default `ta`). */
  prefix: Schema.optionalKey(KeyPrefix),
  /** Consumer group of every target stream (default `workers`). */
  group: Schema.optionalKey(KeyPrefix),
  /** How long a delivery holds its target's lease (default 30 s). */
  leaseMs: Schema.optionalKey(PositiveInt),
  /** Idle time after which an unsettled delivery is reclaimed (default `leaseMs`). */
  claimIdleMs: Schema.optionalKey(PositiveInt),
  /** Deliveries of a job (retries and reclaims) before it is dead-lettered (default 25). */
  maxAttempts: Schema.optionalKey(PositiveInt),
  /** Dead letters kept per target (approximate, default 10,000). */
  deadLetterMaxLen: Schema.optionalKey(PositiveInt),
  /** How often a waiting `poll` looks again when nothing is due (default 50 ms). */
  pollIntervalMs: Schema.optionalKey(PositiveInt),
  /** Events kept in memory for `RedisQueue.events` (default 1,000). */
  eventBufferSize: Schema.optionalKey(PositiveInt),
  /** Refuse to start on a server with an evicting `maxmemory-policy` (default true). */
  checkServer: Schema.optionalKey(Schema.Boolean)
})
/** @category models @since 0.1.0 */
export type Options = typeof Options.Type

/**
 * Options with every default filled in.
 *
 * @category models
 * @since 0.1.0
 */
export type Settings = { readonly [K in keyof Options]-?: Exclude<Options[K], undefined> }

/**
 * Validates options (Schema); `withDefaults` then fills in the rest.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decode = Schema.decodeUnknownEffect(Options)

/**
 * Fills in the defaults of validated options.
 *
 * @category constructors
 * @since 0.1.0
 */
export const withDefaults = (options: Options): Settings => {
  const leaseMs = options.leaseMs ?? 30_000
  return {
    prefix: options.prefix ?? "ta",
    group: options.group ?? "workers",
    leaseMs,
    claimIdleMs: options.claimIdleMs ?? leaseMs,
    maxAttempts: options.maxAttempts ?? 25,
    deadLetterMaxLen: options.deadLetterMaxLen ?? 10_000,
    pollIntervalMs: options.pollIntervalMs ?? 50,
    eventBufferSize: options.eventBufferSize ?? 1_000,
    checkServer: options.checkServer ?? true
  }
}
