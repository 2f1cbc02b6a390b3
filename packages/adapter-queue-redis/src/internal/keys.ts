/**
 * The Redis key layout of the queue.
 *
 * Every key of one target carries the target as its hash tag (`<prefix>:{<target>}:<kind>`),
 * so all of a target's keys live in one Redis Cluster slot and each operation on a target
 * is one atomic Lua script. The global keys (the ready set, its versions and the index of
 * dead-letter streams) share the hash tag `{<prefix>}`.
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `<p>:{<t>}:stream` | stream + group | one entry per queued delivery (`id` = job id) |
 * | `<p>:{<t>}:jobs` | hash | job id → the Job as JSON (the payload; also the de-duplication set) |
 * | `<p>:{<t>}:attempts` | hash | job id → attempt number of its next delivery, when above 1 |
 * | `<p>:{<t>}:delayed` | sorted set | job id → due time (ms) of a retry |
 * | `<p>:{<t>}:lease` | string, PX | `<token> <consumer>`: the target's lease |
 * | `<p>:{<t>}:fence` | counter | the last fencing token handed out |
 * | `<p>:{<t>}:dead` | stream | dead letters of the target |
 * | `<p>:{<p>}:ready` | sorted set | target → time it may have deliverable work |
 * | `<p>:{<p>}:ready-version` | hash | target → version of its ready entry (compare-and-set) |
 * | `<p>:{<p>}:ready-seq` | counter | source of ready versions |
 * | `<p>:{<p>}:dead-targets` | set | targets that have a dead-letter stream |
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A key prefix: 1-64 characters of letters, digits, `.`, `_`, `:`, `-` (no braces, so it
 * never changes a key's hash tag).
 *
 * @category schemas
 * @since 0.1.0
 */
export const KeyPrefix = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._:-]{1,64}$/))

/**
 * The keys of one target, in the order the Lua scripts take them.
 *
 * @category models
 * @since 0.1.0
 */
export interface TargetKeys {
  readonly stream: string
  readonly jobs: string
  readonly attempts: string
  readonly delayed: string
  readonly lease: string
  readonly fence: string
  readonly dead: string
}

/**
 * The keys of one target.
 *
 * @category constructors
 * @since 0.1.0
 */
export const targetKeys = (prefix: string, target: string): TargetKeys => {
  const base = `${prefix}:{${target}}:`
  return {
    stream: `${base}stream`,
    jobs: `${base}jobs`,
    attempts: `${base}attempts`,
    delayed: `${base}delayed`,
    lease: `${base}lease`,
    fence: `${base}fence`,
    dead: `${base}dead`
  }
}

/**
 * The target keys as the argument list of a script (`KEYS[1..7]`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const targetKeyList = (keys: TargetKeys): ReadonlyArray<string> => [
  keys.stream,
  keys.jobs,
  keys.attempts,
  keys.delayed,
  keys.lease,
  keys.fence,
  keys.dead
]

/**
 * The global keys of one prefix.
 *
 * @category models
 * @since 0.1.0
 */
export interface GlobalKeys {
  readonly ready: string
  readonly readyVersion: string
  readonly readySeq: string
  readonly deadTargets: string
}

/**
 * The global keys of one prefix.
 *
 * @category constructors
 * @since 0.1.0
 */
export const globalKeys = (prefix: string): GlobalKeys => {
  const base = `${prefix}:{${prefix}}:`
  return {
    ready: `${base}ready`,
    readyVersion: `${base}ready-version`,
    readySeq: `${base}ready-seq`,
    deadTargets: `${base}dead-targets`
  }
}
