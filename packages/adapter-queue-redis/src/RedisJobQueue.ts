/**
 * `JobQueue` on Redis Streams through ioredis (standalone or Cluster).
 *
 * One stream per target (a region or a device) with a consumer group; a fenced per-target
 * lease so one consumer works on a target at a time, in order; `XAUTOCLAIM` of deliveries
 * whose consumer stopped answering; retries as delayed delivery through a sorted set;
 * dead-letter streams; acknowledged entries deleted. Every step on a target is one Lua
 * script on keys that share the target's hash tag. The key layout is described in `internal/keys.ts`.
 *
 * Lifecycle: `layer` and `layerConfig` create the client and close it with the layer;
 * `layerFromClient` uses the caller's client and leaves it open. Every layer first checks the
 * server (`ServerCheck`): it refuses an evicting `maxmemory-policy` and warns when AOF is off.
 *
 * `layerConfig` reads `TA_REDIS_URL` (redacted) and optionally `TA_REDIS_PREFIX`.
 *
 * @since 0.1.0
 */
import { JobQueue } from "@transient-access/core"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import * as Engine from "./internal/Engine.ts"
import { call } from "./internal/client.ts"
import type * as Client from "./internal/client.ts"
import { poll } from "./internal/poll.ts"
import type { QueueEvent } from "./QueueEvent.ts"
import * as ServerCheck from "./ServerCheck.ts"
import * as Settings from "./Settings.ts"

/**
 * The ioredis client the queue runs on: a standalone `Redis` or a `Cluster`.
 *
 * @category models
 * @since 0.1.0
 */
export type RedisClient = Client.RedisClient

/**
 * The Redis-specific side of the queue: the client, the settings in use and the recent
 * events. Unstable: it exposes the ioredis client, whose API may change under it.
 *
 * @category services
 * @since 0.1.0
 */
export class RedisQueue extends Context.Service<
  RedisQueue,
  {
    readonly client: RedisClient
    readonly settings: Settings.Settings
    /** The most recent events (oldest first), including start-up warnings. */
    readonly events: Effect.Effect<ReadonlyArray<QueueEvent>>
  }
>()("@transient-access/adapter-queue-redis/RedisQueue") {}

/**
 * Builds the queue on a client the caller manages.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (client: RedisClient, options: Settings.Options = {}) {
  const decoded = yield* Settings.decode(options).pipe(
    Effect.mapError((error) => new JobQueue.QueueError({ reason: "Misconfigured", message: error.message }))
  )
  const settings = Settings.withDefaults(decoded)
  const findings = settings.checkServer ? yield* ServerCheck.check(client) : []
  const engine = yield* Engine.make(client, settings)
  const at = yield* Clock.currentTimeMillis
  for (const finding of findings) yield* engine.emit({ _tag: "ConfigWarning", at, ...finding })
  const polling = poll(engine)
  const queue = JobQueue.JobQueue.of({
    publish: (jobs) => engine.publish(jobs).pipe(Effect.withSpan("RedisJobQueue.publish")),
    poll: (options) => polling(options).pipe(Effect.withSpan("RedisJobQueue.poll")),
    deadLetters: engine.deadLetters.pipe(Effect.withSpan("RedisJobQueue.deadLetters"))
  })
  const redis = RedisQueue.of({
    client,
    settings,
    events: engine.events
  })
  return { queue, redis }
})

const toContext = ({ queue, redis }: Effect.Success<ReturnType<typeof make>>) =>
  Context.make(JobQueue.JobQueue, queue).pipe(Context.add(RedisQueue, redis))

/**
 * The queue on an existing client (standalone `Redis` or `Cluster`), left open at the end.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFromClient = (
  client: RedisClient,
  options: Settings.Options = {}
): Layer.Layer<JobQueue.JobQueue | RedisQueue, JobQueue.QueueError> => Layer.effectContext(Effect.map(make(client, options), toContext))

/**
 * Options of `layer`: the server's URL (`redis://` or `rediss://`) and the queue options.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayerOptions extends Settings.Options {
  readonly url: Redacted.Redacted<string>
}

/**
 * The queue on a standalone server it connects to; the connection closes with the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: LayerOptions): Layer.Layer<JobQueue.JobQueue | RedisQueue, JobQueue.QueueError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const { url, ...rest } = options
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => {
          // Reconnect every ≤ 500 ms (ioredis' default backs off to 2 s); a command waits for
          // at most 3 reconnect attempts before it fails.
          const client = new Redis(Redacted.value(url), {
            maxRetriesPerRequest: 3,
            retryStrategy: (times) => Math.min(times * 50, 500)
          })
          // Connection errors reach callers as QueueError `Unavailable` from the failing
          // commands; without a listener ioredis would also print each one.
          client.on("error", () => undefined)
          return client
        }),
        (client) => call("QUIT", () => client.quit()).pipe(Effect.ignore, Effect.andThen(Effect.sync(() => client.disconnect())))
      )
      return toContext(yield* make(client, rest))
    })
  )

/**
 * The queue configured from `TA_REDIS_URL` (redacted) and `TA_REDIS_PREFIX` (default `ta`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options: Omit<Settings.Options, "prefix"> = {}
): Layer.Layer<JobQueue.JobQueue | RedisQueue, JobQueue.QueueError | Config.ConfigError> =>
  Layer.unwrap(
    Effect.gen(function* () {
      const url = yield* Config.Redacted("TA_REDIS_URL")
      const prefix = yield* Config.String("TA_REDIS_PREFIX").pipe(Config.withDefault("ta"))
      return layer({ ...options, url, prefix })
    })
  )
