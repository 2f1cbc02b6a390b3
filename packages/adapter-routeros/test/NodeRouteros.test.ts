/**
 * node-routeros 1.6.9, unpatched (this file loads no adapter code, and vitest isolates test
 * files), logs in and runs commands against the legacy, v6 and v7 profiles, including the
 * pre-6.43 challenge login it falls back to.
 */
import { afterAll, assert, describe, it } from "vitest"
import { RouterOSAPI } from "node-routeros"
import { startSimulator } from "../src/testing/index.ts"

describe("node-routeros against every profile", () => {
  const sims: Array<{ stop: () => Promise<void> }> = []
  afterAll(() => Promise.all(sims.map((sim) => sim.stop())))

  for (const profile of ["legacy", "v6", "v7"] as const) {
    it(`profile ${profile}: login, add, print with query, trap, wrong password`, async () => {
      const sim = await startSimulator({ adminPassword: "pw", profile, sshPort: false })
      sims.push(sim)
      const api = new RouterOSAPI({ host: sim.host, port: sim.apiPort, user: "admin", password: "pw", timeout: 5 })
      api.on("error", () => {})
      await api.connect()
      assert.deepStrictEqual(await api.write("/user/add", ["=name=ta-nr1", "=group=read", "=password=x", "=disabled=yes"]), [{ ret: "*2" }])
      assert.deepStrictEqual(await api.write("/user/print", ["?name=ta-nr1", "=.proplist=name,disabled"]), [
        { name: "ta-nr1", disabled: "true" }
      ])
      const trap = await api.write("/user/remove", ["=.id=*99"]).then(
        () => "",
        (error: Error) => error.message
      )
      assert.strictEqual(trap, "no such item (4)")
      const [resource] = await api.write("/system/resource/print")
      assert.match(resource!.version!, profile === "v7" ? /^7\./ : /^6\./)
      await api.close()
      const bad = new RouterOSAPI({ host: sim.host, port: sim.apiPort, user: "admin", password: "wrong", timeout: 5 })
      bad.on("error", () => {})
      const error = await bad.connect().then(
        () => undefined,
        (failure: { errno?: string }) => failure
      )
      assert.strictEqual(error?.errno, "CANTLOGIN")
    })
  }
})
