/**
 * What `pnpm demo` prints (`node src/main.ts`, walkthrough mode): with keys configured in
 * `TA_API_KEYS` the output names none of them, in the walkthrough or in the ready line; and
 * the walkthrough runs as printed (bash, curl, sshpass, OpenSSH): the login works, the
 * revoke ends it, and the shown-once password never lands in a file.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { keys, randomPortRange } from "./helpers.ts"

/** Runs the demo with `env` until it printed `until`, then stops it; resolves to its stdout. */
const demoOutput = (env: Record<string, string>, until: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const range = randomPortRange()
    const child = spawn(process.execPath, [Path.join(import.meta.dirname, "..", "src", "main.ts")], {
      env: { ...process.env, TA_PORT: "0", TA_STORE: "memory", TA_PORT_RANGE: `${range.from}-${range.to}`, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => child.kill("SIGTERM"), 60_000)
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.includes(until)) child.kill("SIGTERM")
    })
    child.on("exit", () => {
      clearTimeout(timer)
      if (stdout.includes(until)) resolve(stdout)
      else reject(new Error(`demo did not print ${JSON.stringify(until)}\n${stdout}\n${stderr}`))
    })
  })

describe("demo output", () => {
  const configured = { TA_API_KEYS: `${keys.admin}=alice:admin,${keys.viewer}=victor:viewer` }

  it("the walkthrough never prints a configured key", async () => {
    const output = await demoOutput(configured, "Press Ctrl-C")
    assert.include(output, "one of TA_API_KEYS (not printed)")
    assert.notInclude(output, keys.admin)
    assert.notInclude(output, keys.viewer)
  })

  it("the ready line carries only a generated key", async () => {
    const withKeys = JSON.parse(await demoOutput({ ...configured, TA_READY_JSON: "1" }, "}\n")) as { apiKey: unknown }
    assert.isNull(withKeys.apiKey)
    const generated = JSON.parse(await demoOutput({ TA_READY_JSON: "1" }, "}\n")) as { apiKey: unknown }
    assert.match(String(generated.apiKey), /^tak_[A-Za-z0-9_-]{32}$/)
  })

  it("the walkthrough runs as printed: login, revoke, login refused, and no file holds the password", async () => {
    const range = randomPortRange()
    const leftover = "/tmp/ta-grant.json"
    const before = Fs.existsSync(leftover) ? Fs.statSync(leftover).mtimeMs : undefined
    const demo = spawn(process.execPath, [Path.join(import.meta.dirname, "..", "src", "main.ts")], {
      env: { ...process.env, TA_PORT: "0", TA_STORE: "memory", TA_PORT_RANGE: `${range.from}-${range.to}`, TA_PULL_DEVICES: "" },
      stdio: ["ignore", "pipe", "inherit"]
    })
    try {
      const output = await new Promise<string>((resolve, reject) => {
        let stdout = ""
        demo.on("exit", (code) => reject(new Error(`demo exited with ${code}\n${stdout}`)))
        demo.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString()
          if (stdout.includes("Press Ctrl-C")) resolve(stdout)
        })
      })
      const start = output.indexOf("  export TA_URL=")
      const end = output.indexOf("  # audit trail")
      assert.isAbove(end, start)
      const script = output.slice(start, end)
      assert.notInclude(script, "/tmp/", "the walkthrough writes no file")
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile("bash", ["-c", script], { encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
        })
      })
      const identities = result.stdout.split("\n").filter((line) => /name=rtr-1/.test(line))
      assert.strictEqual(
        identities.length,
        1,
        `one login before the revoke, none after:\n${script}\n---\n${result.stdout}\n---\n${result.stderr}`
      )
      assert.match(result.stderr, /Permission denied|Connection (closed|reset|refused)/, "the login after the revoke is refused")
      const after = Fs.existsSync(leftover) ? Fs.statSync(leftover).mtimeMs : undefined
      assert.strictEqual(after, before, "nothing wrote /tmp/ta-grant.json")
    } finally {
      demo.removeAllListeners("exit")
      demo.kill("SIGTERM")
    }
  })
})
