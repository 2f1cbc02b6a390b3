/**
 * Pull mode survives a restart: the device tokens, pending commands and check-ins live in
 * the configured store (PGlite here, in a directory). A server is started with the demo's
 * simulators (`rtr-2` is bootstrapped and checks in), stopped, and a new server is started on
 * the same PGlite directory with `rtr-2` as a real (inventory) pull device, so nothing
 * re-bootstraps it: the token issued by the first server is still accepted by the second.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Option from "effect/Option"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startTestServer } from "./helpers.ts"

const checkIn = (url: string, token: string, body: string) =>
  fetch(`${url}/device/rtr-2/checkin`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
    body
  })

describe("pull mode across a server restart (PGlite directory)", () => {
  it("the token issued before the restart still works; a wrong one is refused", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ta-pull-restart-"))
    try {
      const first = await startTestServer({ pgliteDir: Option.some(join(dir, "db")) })
      let token: string
      let inventory: string
      try {
        const device = first.wiring.simulators.get("rtr-2")!
        const source = device.state.scripts.find("ta-checkin")?.props.get("source") ?? ""
        token = /Bearer ([A-Za-z0-9_-]+)/.exec(source)?.[1] ?? ""
        assert.notStrictEqual(token, "", "the bootstrap installed a token")
        const served = await checkIn(first.url, token, "seq=0")
        assert.strictEqual(served.status, 200, await served.text())
        const rtr2 = first.wiring.inventory.sites.filter((site) => site.devices.some((entry) => entry.id === "rtr-2"))
        inventory = JSON.stringify({ sites: rtr2, regions: first.wiring.inventory.regions })
      } finally {
        await first.stop()
      }
      const inventoryFile = join(dir, "inventory.json")
      writeFileSync(inventoryFile, inventory)
      const second = await startTestServer({
        pgliteDir: Option.some(join(dir, "db")),
        devices: "routeros",
        inventory: Option.some(inventoryFile)
      })
      try {
        const accepted = await checkIn(second.url, token, "seq=0")
        assert.strictEqual(accepted.status, 200, await accepted.text())
        assert.match(await (await checkIn(second.url, token, "seq=0")).text(), /ta-seq/)
        const refused = await checkIn(second.url, `${token}x`, "seq=0")
        assert.strictEqual(refused.status, 401)
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
