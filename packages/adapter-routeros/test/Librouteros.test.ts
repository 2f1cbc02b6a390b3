/**
 * An independent client (Python librouteros, Debian `python3-librouteros`) talks to the
 * simulator: login, add, a query with `.proplist`, booleans, a trap, remove.
 */
import { execFile, execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "vitest"
import { startSimulator } from "../src/testing/index.ts"

const script = fileURLToPath(new URL("./fixtures/librouteros_check.py", import.meta.url))
const python = "/usr/bin/python3"
const available = (() => {
  try {
    execFileSync(python, ["-c", "import librouteros"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
if (!available && process.env.CI === "true") {
  throw new Error("needs python3-librouteros (apt-get install python3-librouteros)")
}

describe.skipIf(!available)("librouteros against the simulator", () => {
  const sims: Array<{ stop: () => Promise<void> }> = []
  afterAll(() => Promise.all(sims.map((sim) => sim.stop())))

  for (const profile of ["v6", "v7", "v7.18"] as const) {
    it(`profile ${profile}`, async () => {
      const sim = await startSimulator({ adminPassword: "pw", profile, sshPort: false })
      sims.push(sim)
      const output = await new Promise<string>((resolve, reject) =>
        execFile(python, [script, String(sim.apiPort), "pw"], { timeout: 20_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)
        )
      )
      const result = JSON.parse(output) as Record<string, unknown>
      assert.deepStrictEqual(result.query, [{ name: "ta-libros1", group: "read", disabled: true }])
      assert.deepStrictEqual(result.identity, [{ name: "MikroTik" }])
      assert.include(String(result.trap), "no such item (4)")
      assert.deepStrictEqual(result.after_remove, ["admin"])
    })
  }
})
