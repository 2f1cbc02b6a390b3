/**
 * A three-node Redis Cluster on loopback (Debian's redis-server, own ports, own temp dir):
 * the contract suite runs through `layerFromClient(new Cluster(...))`, and every key of a
 * target is checked to live in one slot while targets spread over the nodes.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Cluster } from "ioredis"
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { JobQueueSuite } from "@transient-access/core/suites"
import { RedisJobQueue } from "../src/index.ts"
import * as RedisKeys from "../src/internal/keys.ts"
import { corruptOn, ownServer, redisServerBinary, uniquePrefix } from "./utils.ts"
import type { OwnServer } from "./utils.ts"

if (!redisServerBinary && process.env["CI"] === "true") throw new Error("CI=true and redis-server is not installed")

const leaseMs = 600
const prefix = uniquePrefix("cluster")

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

/** A port whose cluster bus port (+10000) is free too. */
const clusterPort = async (taken: ReadonlyArray<number>): Promise<number> => {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000)
    if (taken.includes(port)) continue
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port
  }
  throw new Error("no free port pair for the cluster")
}

let nodes: Array<OwnServer> = []
let cluster: Cluster | undefined

const clusterLayer = Layer.unwrap(
  Effect.sync(() => {
    if (cluster === undefined) throw new Error("the cluster did not start")
    return RedisJobQueue.layerFromClient(cluster, { prefix, leaseMs, pollIntervalMs: 10 })
  })
)

describe.skipIf(!redisServerBinary)("Redis Cluster (3 nodes on loopback)", () => {
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "ta-cluster-"))
    const ports: Array<number> = []
    for (let index = 0; index < 3; index++) ports.push(await clusterPort(ports))
    nodes = await Promise.all(
      ports.map((port) => {
        const dir = join(root, String(port))
        mkdirSync(dir)
        return ownServer(
          [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            join(dir, "nodes.conf"),
            "--cluster-node-timeout",
            "5000",
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "noeviction"
          ],
          port,
          dir
        )
      })
    )
    const created = spawnSync(
      "redis-cli",
      ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8" }
    )
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
    const deadline = Date.now() + 20_000
    while (
      !ports.every((port) =>
        spawnSync("redis-cli", ["-p", String(port), "cluster", "info"], { encoding: "utf8" }).stdout.includes("cluster_state:ok")
      )
    ) {
      if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok")
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    cluster = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })))
    await cluster.ping()
  }, 60_000)

  afterAll(async () => {
    cluster?.disconnect()
    await Promise.all(nodes.map((node) => node.dispose()))
  })

  JobQueueSuite.suite("RedisJobQueue on a Cluster", clusterLayer, {
    leaseMs,
    propertyRuns: 8,
    corrupt: (jobId) => Effect.promise(() => corruptOn(cluster?.nodes("master") ?? [], prefix, jobId))
  })

  it.live("a target's keys share one slot; targets spread over the nodes", () =>
    Effect.promise(async () => {
      const client = cluster!
      const owners = new Set<string>()
      for (let index = 0; index < 30; index++) {
        const target = `device:spread-${index}`
        const slots = await Promise.all(
          RedisKeys.targetKeyList(RedisKeys.targetKeys(prefix, target)).map((key) => client.cluster("KEYSLOT", key))
        )
        assert.strictEqual(new Set(slots).size, 1, `keys of ${target} span slots ${slots.join(",")}`)
        const slot = Number(slots[0])
        const shards = await client.cluster("SLOTS")
        const shard = shards.find(([from, to]) => slot >= from && slot <= to)
        owners.add(String(shard?.[2]?.[1]))
      }
      assert.isAtLeast(owners.size, 2, "30 targets all landed on one node")
    })
  )
})
