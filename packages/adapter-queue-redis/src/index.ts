/**
 * `@transient-access/adapter-queue-redis`: the `JobQueue` port on Redis Streams (ioredis),
 * with per-target order, fenced leases, crash recovery, delayed retries, dead letters,
 * start-up checks of the server and pull mode for devices.
 *
 * @since 0.1.0
 */
export * as PullMode from "./PullMode.ts"
export * as QueueEvent from "./QueueEvent.ts"
export * as RedisJobQueue from "./RedisJobQueue.ts"
export * as RedisKeys from "./RedisKeys.ts"
export * as ServerCheck from "./ServerCheck.ts"
export * as Settings from "./Settings.ts"
