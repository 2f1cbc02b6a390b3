/**
 * The CLI against the real demo server (`node ../express-server/src/main.ts`): grant with
 * `--wait` (progress until ready), list, revoke with `--wait`, watch, `--json` output and the
 * exit codes of API refusals and usage errors.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Path from "node:path"

const key = `cli-admin-${Crypto.randomBytes(12).toString("hex")}`
const main = Path.join(import.meta.dirname, "..", "src", "main.ts")
let demo: ChildProcess
let url = ""

const cli = (...args: ReadonlyArray<string>) => {
  const result = spawnSync(process.execPath, [main, ...args], {
    env: { ...process.env, TA_URL: url, TA_KEY: key },
    encoding: "utf8",
    timeout: 60_000
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

beforeAll(async () => {
  const from = 30_000 + Math.floor(Math.random() * 40) * 50
  demo = spawn(process.execPath, [Path.join(import.meta.dirname, "..", "..", "express-server", "src", "main.ts")], {
    env: {
      ...process.env,
      TA_PORT: "0",
      TA_READY_JSON: "1",
      TA_API_KEYS: `${key}=cli:admin`,
      TA_STORE: "memory",
      TA_SIMULATORS: "1",
      TA_PORT_RANGE: `${from}-${from + 49}`
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  url = await new Promise<string>((resolve, reject) => {
    let buffer = ""
    demo.on("exit", (code) => reject(new Error(`demo exited with ${code}`)))
    demo.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const line = buffer.split("\n").find((candidate) => candidate.startsWith("{"))
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url)
    })
  })
})
afterAll(() => {
  demo?.removeAllListeners("exit")
  demo?.kill("SIGTERM")
})

describe("transient-access CLI", () => {
  it("grant --wait, list, revoke --wait, watch (human and --json)", () => {
    const granted = cli(
      "grant",
      "rtr-1",
      "--access",
      "ssh",
      "--permission",
      "read-only",
      "--ttl",
      "15m",
      "--source",
      "127.0.0.1/32",
      "--wait"
    )
    assert.strictEqual(granted.status, 0, granted.stderr)
    assert.match(granted.stdout, /nat rule ✔ {2}device user ✔/)
    assert.match(granted.stdout, /password {2}[A-Za-z0-9]{24} {4}\(shown once\)/)
    assert.match(granted.stdout, /ssh {7}ssh ta-[a-z0-9]{12}@127\.0\.0\.1 -p \d+/)
    const grantId = /Grant (ga_[a-z2-7]+) \(active, ready\)/.exec(granted.stdout)?.[1] ?? ""
    assert.notStrictEqual(grantId, "")

    const listed = cli("list", "rtr-1", "--states", "active", "--json")
    assert.strictEqual(listed.status, 0, listed.stderr)
    const grants = (JSON.parse(listed.stdout) as { grants: ReadonlyArray<{ id: string }> }).grants
    assert.include(
      grants.map((grant) => grant.id),
      grantId
    )
    assert.include(cli("list", "rtr-1").stdout, grantId)

    const revoked = cli("revoke", grantId, "--wait", "--json")
    assert.strictEqual(revoked.status, 0, revoked.stderr)
    const events = revoked.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { grant: { state: string } })
    assert.strictEqual(events.at(-1)?.grant.state, "revoked")

    const watched = cli("watch", grantId)
    assert.match(watched.stdout, /is revoked/)
  })

  it("grant --forward: a port forward through the router (no login)", () => {
    const granted = cli(
      "grant",
      "rtr-1",
      "--forward",
      "192.168.88.10:443",
      "--permission",
      "full",
      "--ttl",
      "10m",
      "--source",
      "127.0.0.1/32",
      "--wait"
    )
    assert.strictEqual(granted.status, 0, granted.stderr)
    assert.match(granted.stdout, /forwards {2}192\.168\.88\.10:443 {4}\(from 127\.0\.0\.1\/32 only\)/)
    assert.notMatch(granted.stdout, /password/)
    const grantId = /Grant (ga_[a-z2-7]+) \(active, ready\)/.exec(granted.stdout)?.[1] ?? ""
    assert.strictEqual(cli("revoke", grantId, "--wait").status, 0)
    assert.strictEqual(cli("grant", "rtr-1", "--forward", "no-port").status, 2)
  })

  it("reports API refusals with their tag (exit 1) and usage errors (exit 2)", () => {
    const refused = cli("grant", "rtr-1", "--ttl", "25h", "--json")
    assert.strictEqual(refused.status, 1)
    assert.strictEqual((JSON.parse(refused.stdout) as { error: { _tag: string } }).error._tag, "InvalidRequest")
    const unknown = cli("revoke", "ga_nothere")
    assert.strictEqual(unknown.status, 1)
    assert.match(unknown.stderr, /GrantNotFound/)
    assert.strictEqual(cli("grant", "rtr-1", "--ttl", "soon").status, 2)
    assert.strictEqual(cli("frobnicate", "x").status, 2)
  })
})
