/**
 * Test fixtures: the shared Redis server of the test run (`TA_TEST_REDIS_URL`), unique key
 * prefixes, clean-up, the payload-corrupting probe, and throwaway `redis-server` processes.
 *
 * Without a server the tests fail when `CI=true` and are skipped with a reason otherwise.
 */
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { randomBytes } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"

/** The shared server's URL, or `undefined` when not configured. */
export const redisUrl: string | undefined = process.env["TA_TEST_REDIS_URL"]

/** Whether the shared server answers PING (checked once, synchronously). */
export const redisAvailable: boolean = (() => {
  if (redisUrl === undefined) return false
  const url = new URL(redisUrl)
  const result = spawnSync("redis-cli", ["-h", url.hostname, "-p", url.port || "6379", "ping"], { encoding: "utf8" })
  return result.stdout?.trim() === "PONG"
})()

/** Why the Redis tests cannot run, or `null`. In CI a missing server is a failure, not a skip. */
export const unavailableReason: string | null = redisAvailable
  ? null
  : `no Redis server at TA_TEST_REDIS_URL (${redisUrl ?? "unset"}); run eval "$(scripts/services.sh)"`

if (unavailableReason !== null) {
  if (process.env["CI"] === "true") throw new Error(`CI=true and ${unavailableReason}`)
  console.warn(`skipping Redis tests: ${unavailableReason}`)
}

/** Whether `redis-server` can be started by the tests (own servers, cluster). */
export const redisServerBinary: boolean = spawnSync("redis-server", ["--version"]).status === 0

/** The shared server's URL as the layers take it. */
export const redactedUrl = () => Redacted.make(redisUrl ?? "redis://127.0.0.1:6379")

/** A key prefix unique to one test file or test. */
export const uniquePrefix = (name: string) => `tq-${name}-${randomBytes(4).toString("hex")}`

/** Deletes every key of a prefix (SCAN + UNLINK; never FLUSHALL on the shared server). */
export const dropPrefix = async (client: Redis, prefix: string): Promise<number> => {
  let cursor = "0"
  let dropped = 0
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) dropped += await client.unlink(...keys)
  } while (cursor !== "0")
  return dropped
}

/** Overwrites a queued job's stored payload with garbage, searching the given nodes. */
export const corruptOn = async (nodes: ReadonlyArray<Redis>, prefix: string, jobId: string): Promise<void> => {
  for (const node of nodes) {
    let cursor = "0"
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:{*}:jobs`, "COUNT", 1000)
      cursor = next
      for (const key of keys) {
        if ((await node.hexists(key, jobId)) === 1) {
          await node.hset(key, jobId, '{"id":42, not json')
          return
        }
      }
    } while (cursor !== "0")
  }
  throw new Error(`job ${jobId} is not queued under ${prefix}`)
}

/** The probe of the contract suite on the shared server. */
export const corruptPayload = (prefix: string) => (jobId: string) =>
  Effect.promise(async () => {
    const client = new Redis(redisUrl ?? "")
    try {
      await corruptOn([client], prefix, jobId)
    } finally {
      client.disconnect()
    }
  })

/** A free TCP port on loopback. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A `redis-server` of our own, in a temp dir, on a free port. */
export interface OwnServer {
  readonly port: number
  readonly dir: string
  readonly url: string
  /** Starts (or restarts) the process with the same dir, port and arguments. */
  readonly start: () => Promise<void>
  /** SIGKILLs the process (no shutdown save). */
  readonly kill: () => Promise<void>
  /** Stops it and deletes its dir. */
  readonly dispose: () => Promise<void>
}

const waitFor = async (check: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const pings = (port: number) => spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout?.trim() === "PONG"

/** Starts a private redis-server with extra arguments (e.g. `--appendonly yes`). */
export const ownServer = async (args: ReadonlyArray<string>, port?: number, dir?: string): Promise<OwnServer> => {
  const chosenPort = port ?? (await freePort())
  const chosenDir = dir ?? mkdtempSync(join(tmpdir(), "ta-redis-"))
  let child: ChildProcess | null = null
  const start = async () => {
    child = spawn("redis-server", ["--port", String(chosenPort), "--bind", "127.0.0.1", "--dir", chosenDir, "--save", "", ...args], {
      stdio: "ignore"
    })
    await waitFor(() => pings(chosenPort), 10_000, `redis-server on ${chosenPort}`)
  }
  const kill = async () => {
    const current = child
    if (current === null || current.exitCode !== null) return
    const exited = new Promise((resolve) => current.once("exit", resolve))
    current.kill("SIGKILL")
    await exited
    child = null
  }
  await start()
  return {
    port: chosenPort,
    dir: chosenDir,
    url: `redis://127.0.0.1:${chosenPort}`,
    start,
    kill,
    dispose: async () => {
      await kill()
      rmSync(chosenDir, { recursive: true, force: true })
    }
  }
}
