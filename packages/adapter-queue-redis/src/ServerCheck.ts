/**
 * Start-up checks of the Redis server's settings.
 *
 * - `maxmemory-policy` other than `noeviction`: Redis may evict queued jobs under memory
 *   pressure, so the queue refuses to start (`QueueError` with reason `Misconfigured`).
 * - `appendonly no`: a restart loses everything since the last snapshot; the queue starts
 *   but reports a `ConfigWarning` (the outbox republishes lost jobs).
 *
 * On a Cluster every master node is checked. A server that forbids `CONFIG GET` (some
 * managed services) is reported as a warning, not refused.
 *
 * @since 0.1.0
 */
import { JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Cluster } from "ioredis"
import type { Redis } from "ioredis"
import { call } from "./internal/client.ts"
import type { RedisClient } from "./internal/client.ts"

/**
 * A finding that does not stop the queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConfigFinding {
  readonly node: string
  readonly setting: string
  readonly value: string
  readonly message: string
}

const ConfigReply = Schema.Array(Schema.String)

const nodeName = (node: Redis): string => `${node.options.host ?? "?"}:${node.options.port ?? "?"}`

const forbidden = /unknown command|NOPERM|not allowed|unknown subcommand/i

/** The setting's value, or `null` when the server forbids `CONFIG GET`. */
const configGet = (node: Redis, setting: string): Effect.Effect<string | null, JobQueue.QueueError> =>
  call(`CONFIG GET ${setting}`, () => node.config("GET", setting)).pipe(
    Effect.flatMap((reply) =>
      Schema.decodeUnknownEffect(ConfigReply)(reply).pipe(
        Effect.mapError((error) => new JobQueue.QueueError({ reason: "Corrupt", message: `CONFIG GET ${setting}: ${error.message}` }))
      )
    ),
    Effect.map((pairs): string | null => pairs[1] ?? ""),
    Effect.catch((error) => (forbidden.test(error.message) ? Effect.succeed(null) : Effect.fail(error)))
  )

const checkNode = Effect.fnUntraced(function* (node: Redis) {
  const name = nodeName(node)
  const findings: Array<ConfigFinding> = []
  const policy = yield* configGet(node, "maxmemory-policy")
  if (policy === null) {
    findings.push({ node: name, setting: "maxmemory-policy", value: "unknown", message: `Redis ${name} forbids CONFIG GET` })
  } else if (policy !== "noeviction") {
    return yield* new JobQueue.QueueError({
      reason: "Misconfigured",
      message: `Redis ${name} has maxmemory-policy ${policy}: queued jobs could be evicted; set it to noeviction`
    })
  }
  const aof = yield* configGet(node, "appendonly")
  if (aof === null) {
    findings.push({ node: name, setting: "appendonly", value: "unknown", message: `Redis ${name} forbids CONFIG GET` })
  } else if (aof !== "yes") {
    findings.push({
      node: name,
      setting: "appendonly",
      value: aof,
      message: `Redis ${name} runs without AOF: a restart can lose queued jobs (the outbox republishes them)`
    })
  }
  return findings
})

/**
 * Checks the server (every master of a Cluster); fails with `Misconfigured` when eviction
 * is possible and returns the findings that only warrant a warning.
 *
 * @category constructors
 * @since 0.1.0
 */
export const check = (client: RedisClient): Effect.Effect<ReadonlyArray<ConfigFinding>, JobQueue.QueueError> =>
  Effect.gen(function* () {
    yield* call("PING", () => client.ping())
    const nodes = client instanceof Cluster ? client.nodes("master") : [client]
    const results = yield* Effect.forEach(nodes, checkNode, { concurrency: "unbounded" })
    return results.flat()
  })
