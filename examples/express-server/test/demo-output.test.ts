/**
 * What `pnpm demo` prints (`node src/main.ts`, walkthrough mode): with keys configured in
 * `TA_API_KEYS` the output names none of them, in the walkthrough or in the ready line.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
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
})
