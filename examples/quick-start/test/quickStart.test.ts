/**
 * The README's embedding snippet runs as written: the same text is in the README and in
 * `src/quickStart.ts`, and the program, pointed at a RouterOS simulator, grants access
 * through the relay and the RouterOS API and revokes it, leaving no user on the router.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { startSimulator } from "@transient-access/adapter-routeros/testing"
import { execFile } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

const program = Path.join(import.meta.dirname, "..", "src", "quickStart.ts")
const readme = Path.join(import.meta.dirname, "..", "..", "..", "README.md")
const password = Crypto.randomBytes(12).toString("base64url")
let simulator: Awaited<ReturnType<typeof startSimulator>>

beforeAll(async () => {
  simulator = await startSimulator({ identity: "router-1", adminPassword: password })
})
afterAll(async () => {
  await simulator?.stop()
})

const run = (file: string, args: ReadonlyArray<string>, options: { readonly env: NodeJS.ProcessEnv; readonly timeout: number }) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(file, args, { ...options, encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

const between = (text: string, begin: string, end: string) => {
  const from = text.indexOf(begin)
  const to = text.indexOf(end)
  assert.isAtLeast(from, 0, `${begin} not found`)
  assert.isAbove(to, from, `${end} not found`)
  return text.slice(from + begin.length, to).trim()
}

describe("the README quick start", () => {
  it("is the same text as src/quickStart.ts", () => {
    const source = between(Fs.readFileSync(program, "utf8"), "// quick-start:begin", "// quick-start:end")
    const block = between(Fs.readFileSync(readme, "utf8"), "<!-- quick-start:begin -->\n```ts", "```\n<!-- quick-start:end -->")
    assert.strictEqual(block, source)
  })

  it("grants access through the relay and the RouterOS API, then revokes it", async () => {
    // asynchronous: the simulator answers from this process while the program runs
    const result = await run(process.execPath, [program], {
      env: {
        ...process.env,
        ROUTER_ADDRESS: simulator.host,
        ROUTER_API_PORT: String(simulator.apiPort),
        ROUTER_SSH_PORT: String(simulator.sshPort ?? 22),
        ROUTER_USER: "admin",
        ROUTER_PASSWORD: password
      },
      timeout: 45_000
    })
    assert.strictEqual(result.code, 0, result.stderr)
    const lines = result.stdout.trim().split("\n")
    assert.match(lines[0] ?? "", /^grant ga_[a-z2-7]+ is active$/)
    assert.match(lines[1] ?? "", /^ssh -p 410\d\d ta-[a-z0-9]+@127\.0\.0\.1 \(password: \d+ characters, shown once\)$/)
    assert.match(lines[2] ?? "", /^grant ga_[a-z2-7]+ is revoked$/)
    assert.notInclude(result.stdout, password)
    const left = simulator.state.users.items.filter((user) => (user.props.get("name") ?? "").startsWith("ta-"))
    assert.deepStrictEqual(left, [], "no temporary user is left on the router")
  })
})
