/**
 * The CLI's own behaviour without a server to talk to: help exits 0, an unknown command
 * says so (exit 2), and a server that is down is named with its URL (exit 1).
 */
import { assert, describe, it } from "vitest"
import { spawnSync } from "node:child_process"
import * as Net from "node:net"
import * as Path from "node:path"

const main = Path.join(import.meta.dirname, "..", "src", "main.ts")

const cli = (env: Record<string, string>, ...args: ReadonlyArray<string>) => {
  const result = spawnSync(process.execPath, [main, ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** A loopback port nothing listens on (bound, then closed). */
const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

describe("transient-access CLI usage", () => {
  it("--help, -h and help print the usage on stdout and exit 0, without --url or --key", () => {
    for (const args of [["--help"], ["-h"], ["help"], ["grant", "--help"]]) {
      const result = cli({ TA_URL: "", TA_KEY: "" }, ...args)
      assert.strictEqual(result.status, 0, `${args.join(" ")}: ${result.stderr}`)
      assert.match(result.stdout, /^usage:/)
      assert.match(result.stdout, /transient-access grant <device>/)
    }
  })

  it("an unknown command is named (exit 2), before any server is needed", () => {
    const result = cli({ TA_URL: "", TA_KEY: "" }, "frobnicate", "x")
    assert.strictEqual(result.status, 2)
    assert.match(result.stderr, /^unknown command: frobnicate$/m)
    const bare = cli({ TA_URL: "", TA_KEY: "" })
    assert.strictEqual(bare.status, 2)
    assert.match(bare.stderr, /^usage:/)
  })

  it("a server that is down is named with its URL (exit 1), in text and in --json", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`
    const text = cli({ TA_URL: url, TA_KEY: "k" }, "list", "rtr-1")
    assert.strictEqual(text.status, 1)
    assert.include(text.stderr, `cannot reach the server at ${url}`)
    assert.include(text.stderr, "ECONNREFUSED")
    assert.notInclude(text.stderr, "fetch failed")
    const json = cli({ TA_URL: url, TA_KEY: "k" }, "revoke", "ga_x", "--json")
    assert.strictEqual(json.status, 1)
    const parsed = JSON.parse(json.stdout) as { error: { _tag: string; url: string } }
    assert.strictEqual(parsed.error._tag, "ServerUnreachable")
    assert.strictEqual(parsed.error.url, url)
  })
})
