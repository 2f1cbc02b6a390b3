/**
 * Running commands and Lua scripts on an ioredis client (standalone or Cluster) as Effects,
 * with driver errors translated into the port's `QueueError`.
 *
 * Scripts run with `EVALSHA` and fall back to `EVAL` when the server does not know the
 * script yet (`NOSCRIPT`, e.g. after a restart or on a new cluster node).
 *
 * @since 0.1.0
 */
import { JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import type { Cluster, Redis } from "ioredis"
import { createHash } from "node:crypto"

/**
 * A client the queue can use: a standalone `Redis` or a `Cluster`.
 *
 * @inline
 * @category models
 * @since 0.1.0
 */
export type RedisClient = Redis | Cluster

/**
 * A Lua script with its SHA-1.
 *
 * @category models
 * @since 0.1.0
 */
export interface Script {
  readonly source: string
  readonly sha: string
}

/**
 * Prepares a script.
 *
 * @category constructors
 * @since 0.1.0
 */
export const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") })

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * The driver error without the arguments ioredis attaches to a failed command
 * (`error.command.args`): those of a refused `AUTH` are the user name and password.
 */
const withoutArguments = (cause: unknown): unknown => {
  if (!(cause instanceof Error) || !("command" in cause)) return cause
  const copy = new Error(cause.message)
  copy.name = cause.name
  if (cause.stack !== undefined) copy.stack = cause.stack
  return copy
}

/**
 * Classifies a driver error: connection problems are `Unavailable`, command timeouts
 * `Timeout`, anything else `Unknown`. The cause kept is stripped of the command's arguments.
 *
 * @category errors
 * @since 0.1.0
 */
export const toQueueError =
  (operation: string) =>
  (cause: unknown): JobQueue.QueueError => {
    const message = messageOf(cause)
    const reason = /timed? ?out/i.test(message)
      ? "Timeout"
      : /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|closed|Connection|max retries|CLUSTERDOWN|LOADING|TRYAGAIN|MOVED|ASK /i.test(message)
        ? "Unavailable"
        : "Unknown"
    return new JobQueue.QueueError({ reason, message: `${operation}: ${message}`, cause: withoutArguments(cause) })
  }

/**
 * Runs one Redis call.
 *
 * @category constructors
 * @since 0.1.0
 */
export const call = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, JobQueue.QueueError> =>
  Effect.tryPromise({ try: run, catch: toQueueError(operation) })

/**
 * Runs a script (EVALSHA, then EVAL on NOSCRIPT). Its keys must share one hash slot.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runScript = (
  client: RedisClient,
  name: string,
  lua: Script,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string | number>
): Effect.Effect<unknown, JobQueue.QueueError> =>
  call(name, () => client.evalsha(lua.sha, keys.length, ...keys, ...args)).pipe(
    Effect.catch((error) =>
      error.message.includes("NOSCRIPT") ? call(name, () => client.eval(lua.source, keys.length, ...keys, ...args)) : Effect.fail(error)
    )
  )
