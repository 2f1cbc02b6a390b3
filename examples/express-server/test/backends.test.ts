/**
 * Backends chosen by configuration, each through the whole server (grant → ready → revoke →
 * revoked):
 *
 * - `TA_DEVICES=routeros`: an inventory file with a router's address and its API login
 *   (password in an environment variable, never in the file); here the "router" is a
 *   simulator reached over the real RouterOS API with a dedicated `sdk-edge` login.
 * - `TA_QUEUE=redis`: the Redis Streams queue (`TA_TEST_REDIS_URL`, own key prefix).
 * - `TA_REGIONAL=iptables`: the netfilter gateway on this host, its commands run inside a
 *   throw-away network namespace (`TA_NETFILTER_PREFIX="ip netns exec <ns>"`); the DNAT
 *   rule of the grant appears in and disappears from that namespace's ruleset.
 *
 * Redis and netns: with CI=true their absence fails the test, otherwise it skips.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { deviceFor, type SimulatorHandle, startSimulator } from "@transient-access/adapter-routeros/testing"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { RunningServer } from "../src/Server.ts"
import type { Settings } from "../src/Settings.ts"
import { call, keys, randomPortRange, startTestServer, waitForGrant } from "./helpers.ts"

const ci = process.env["CI"] === "true"
const suffix = () => Crypto.randomBytes(4).toString("hex")

/** Grants read-only SSH on `deviceId`, waits until ready, revokes, waits until revoked. */
const lifecycle = async (
  server: RunningServer,
  deviceId: string,
  onReady: (grant: { id: string; username: string }) => void | Promise<void> = () => {}
) => {
  const created = await call(server.url, "POST", `/api/devices/${deviceId}/grants`, {
    key: keys.admin,
    body: { accessType: "ssh", permission: "read-only", ttlSeconds: 600, source: "127.0.0.1/32" }
  })
  assert.strictEqual(created.status, 201, created.text)
  const ready = await waitForGrant(server.url, keys.admin, created.body.grant.id, (grant) => grant.ready)
  assert.isTrue(ready.ready, "ready")
  await onReady({ id: ready.id, username: ready.username })
  await call(server.url, "DELETE", `/api/grants/${ready.id}`, { key: keys.admin })
  const gone = await waitForGrant(server.url, keys.admin, ready.id, (grant) => grant.state === "revoked")
  assert.strictEqual(gone.state, "revoked")
  return ready
}

describe("TA_DEVICES=routeros (inventory file, API login from the environment)", () => {
  let router: SimulatorHandle
  let server: RunningServer
  let directory: string
  const passwordEnv = `TA_TEST_EDGE_PASSWORD_${suffix().toUpperCase()}`

  const writeInventory = (credentials: boolean) => {
    const range = randomPortRange()
    const file = Path.join(directory, credentials ? "inventory.json" : "bare.json")
    const device = deviceFor(router, { id: "edge-1", regionId: "edge", name: "Edge router" })
    Fs.writeFileSync(
      file,
      JSON.stringify({
        sites: [
          { id: "edge", name: "Edge site", devices: [credentials ? { ...device, credentials: { user: "sdk-edge", passwordEnv } } : device] }
        ],
        regions: [{ id: "edge", endpointHost: "127.0.0.1", portRange: range, tunnelAddress: "127.0.0.1" }]
      })
    )
    return file
  }

  beforeAll(async () => {
    const sdkPassword = Crypto.randomBytes(18).toString("base64url")
    router = await startSimulator({ identity: "edge-1", adminPassword: Crypto.randomBytes(18).toString("base64url") })
    await router.run(`/user add name=sdk-edge group=full password="${sdkPassword}"`)
    process.env[passwordEnv] = sdkPassword
    directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ta-inventory-"))
    server = await startTestServer({ store: "memory", devices: "routeros", inventory: Option.some(writeInventory(true)) })
  })
  afterAll(async () => {
    await server?.stop()
    await router?.stop()
    delete process.env[passwordEnv]
    if (directory) Fs.rmSync(directory, { recursive: true, force: true })
  })

  it("provisions and removes the user on the router named in the inventory", async () => {
    const sites = await call(server.url, "GET", "/api/sites", { key: keys.admin })
    assert.notInclude(sites.text, passwordEnv, "credentials are not part of the public inventory")
    await lifecycle(server, "edge-1", ({ username }) => {
      assert.strictEqual(router.state.users.find(username)?.props.get("disabled"), "false")
      assert.isDefined(router.state.scheduler.find(`ta-exp-${username}`))
    })
    assert.deepStrictEqual(
      router.state.users.items.map((user) => user.props.get("name")).filter((name) => name?.startsWith("ta-")),
      []
    )
  })

  it("refuses to start without credentials for a push device, or with a ta- login", async () => {
    const settings: Partial<Settings> = { store: "memory", devices: "routeros", inventory: Option.some(writeInventory(false)) }
    const missing = await startTestServer(settings).then(
      () => undefined,
      (cause: unknown) => cause
    )
    assert.match(String(missing), /edge-1 have no credentials: set TA_ROUTEROS_PASSWORD/)
    const reserved = await startTestServer({
      ...settings,
      routerOs: { user: "ta-sdk", password: Option.some(Redacted.make("x")), tls: false, caFile: Option.none() }
    }).then(
      () => undefined,
      (cause: unknown) => cause
    )
    assert.match(String(reserved), /ta-sdk: names starting with ta- are the SDK's temporary users/)
  })
})

const redisUrl = process.env["TA_TEST_REDIS_URL"]
if (redisUrl === undefined && ci) throw new Error('TA_QUEUE=redis test needs TA_TEST_REDIS_URL (eval "$(scripts/services.sh)")')

describe.skipIf(redisUrl === undefined)(`TA_QUEUE=redis${redisUrl === undefined ? " (skipped: TA_TEST_REDIS_URL not set)" : ""}`, () => {
  const prefix = `ta-example-${suffix()}`
  let server: RunningServer
  let client: Redis

  beforeAll(async () => {
    client = new Redis(redisUrl ?? "")
    server = await startTestServer({
      store: "memory",
      simulators: 1,
      queue: "redis",
      redis: { url: Option.some(Redacted.make(redisUrl ?? "")), prefix }
    })
  })
  afterAll(async () => {
    await server?.stop()
    const found = await client.keys(`${prefix}:*`)
    if (found.length > 0) await client.del(...found)
    await client.quit()
  })

  it("jobs travel through Redis streams", async () => {
    await lifecycle(server, "rtr-1")
    const used = await client.keys(`${prefix}:*`)
    assert.isAbove(used.length, 0, `the queue's keys live under the configured prefix: ${used.join(" ")}`)
  })
})

const netns = (() => {
  try {
    const name = `ta-ex-${suffix()}`
    execFileSync("ip", ["netns", "add", name], { stdio: "pipe" })
    execFileSync("ip", ["netns", "exec", name, "iptables", "-S"], { stdio: "pipe" })
    return { ok: true as const, name }
  } catch (error) {
    return { ok: false as const, reason: String(error).split("\n")[0] ?? "" }
  }
})()
if (!netns.ok && ci) throw new Error(`TA_REGIONAL=iptables test needs root, ip netns and iptables: ${netns.reason}`)

describe.skipIf(!netns.ok)(`TA_REGIONAL=iptables${netns.ok ? "" : ` (skipped: ${netns.reason})`}`, () => {
  const name = netns.ok ? netns.name : ""
  let server: RunningServer
  const ruleset = () => execFileSync("ip", ["netns", "exec", name, "iptables-save", "-t", "nat"], { encoding: "utf8" })

  beforeAll(async () => {
    server = await startTestServer({
      store: "memory",
      simulators: 1,
      regional: "iptables",
      netfilter: { prefix: ["ip", "netns", "exec", name], publicAddress: Option.none(), snat: true }
    })
  })
  afterAll(async () => {
    await server?.stop()
    if (name !== "") execFileSync("ip", ["netns", "del", name], { stdio: "pipe" })
  })

  it("the grant's DNAT rule is written into the namespace and removed on revoke", async () => {
    const ready = await lifecycle(server, "rtr-1", ({ id }) => {
      assert.include(ruleset(), `ta:${id}`, "DNAT rule present while granted")
    })
    assert.notInclude(ruleset(), `ta:${ready.id}`, "gone after revoke")
  })
})
