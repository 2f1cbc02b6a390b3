/**
 * `@transient-access/adapter-queue-redis`: the `JobQueue` port on Redis Streams (ioredis),
 * with per-target order, fenced leases, crash recovery, delayed retries, dead letters,
 * and start-up checks of the server.
 *
 * @since 0.1.0
 */
export * as QueueEvent from "./QueueEvent.ts"
export * as RedisJobQueue from "./RedisJobQueue.ts"
export * as ServerCheck from "./ServerCheck.ts"
export * as Settings from "./Settings.ts"
