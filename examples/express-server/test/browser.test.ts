/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium): open the
 * dashboard, pick a site, add a grant, read the credentials shown once, revoke it, see it
 * gone; then a port forward (LAN target shown instead of a login), revoked too. A screenshot is kept in `.test-artifacts/` (git-ignored).
 *
 * Needs `/usr/bin/chromium` (or `TA_CHROMIUM`): with CI=true its absence fails the test,
 * otherwise it skips.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import type { RunningServer } from "../src/Server.ts"
import { keys, startTestServer } from "./helpers.ts"

const executablePath = process.env["TA_CHROMIUM"] ?? "/usr/bin/chromium"
const available = Fs.existsSync(executablePath)
if (!available && process.env["CI"] === "true") throw new Error(`the browser test needs chromium at ${executablePath}`)

const artifacts = Path.join(import.meta.dirname, "..", ".test-artifacts")

describe.skipIf(!available)(`dashboard in chromium${available ? "" : " (skipped: chromium missing)"}`, () => {
  let server: RunningServer
  let browser: BrowserContext
  let profile: string

  beforeAll(async () => {
    server = await startTestServer()
    profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "ta-chromium-"))
    browser = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run"
      ]
    })
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    if (profile) Fs.rmSync(profile, { recursive: true, force: true })
  })

  it("adds a grant, shows the credentials once, revokes it and sees it gone", async () => {
    const page = await browser.newPage()
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    await page.goto(`${server.url}/#key=${keys.admin}`)
    await page.getByRole("button", { name: "Head office" }).click()
    await page.getByRole("tab", { name: "Transient Access" }).click()
    await page.getByRole("button", { name: "+ Add" }).click()

    const source = page.getByLabel("Source IP (CIDR)")
    assert.strictEqual(await source.inputValue(), "127.0.0.1/32", "source prefilled with the caller's address")
    await source.fill("10.0.0.0/8")
    assert.include(await page.locator("#source-warning").textContent(), "wide range")
    await source.fill("127.0.0.1/32")
    await page.getByLabel("SSH").check()
    await page.getByLabel("Read only").check()
    await page.getByLabel("Expiration").selectOption("1800")
    await page.getByRole("button", { name: "Generate credentials" }).click()

    const credentials = page.locator("#credentials")
    await credentials.waitFor({ state: "visible" })
    const username = (await credentials.locator("code[data-field=username]").textContent()) ?? ""
    const password = (await credentials.locator("code[data-field=password]").textContent()) ?? ""
    const sshLine = (await credentials.locator("code[data-field=ssh-command]").textContent()) ?? ""
    assert.match(username, /^ta-[a-z0-9]{12}$/)
    assert.match(password, /^[A-Za-z0-9]{24}$/)
    assert.match(sshLine, new RegExp(`^ssh ${username}@127\\.0\\.0\\.1 -p \\d+$`))
    assert.strictEqual(await credentials.getByRole("button", { name: "Copy Password" }).count(), 1)

    const row = page.locator("#active-rows tr", { hasText: username })
    await row.waitFor()
    await row.getByRole("cell", { name: "Active" }).waitFor({ timeout: 15_000 })
    assert.match((await row.locator("td.countdown").textContent()) ?? "", /^(29|30)m \d{2}s$/)

    Fs.mkdirSync(artifacts, { recursive: true })
    await page.screenshot({ path: Path.join(artifacts, "dashboard-grant.png"), fullPage: true })

    await page.getByRole("button", { name: "I have saved them" }).click()
    assert.isFalse(await credentials.isVisible())
    await row.getByRole("button", { name: `Revoke ${username}` }).click()
    await page.locator("#active-rows tr", { hasText: username }).waitFor({ state: "detached" })
    await page.locator("#recent-rows tr", { hasText: username }).waitFor()
    await page.screenshot({ path: Path.join(artifacts, "dashboard-revoked.png"), fullPage: true })
    assert.notInclude(await page.content(), password, "the password is gone from the page")

    // a port forward through the same router: no login, the LAN target instead
    await page.getByRole("button", { name: "+ Add" }).click()
    await page.getByLabel("Port forward").check()
    await page.getByLabel("LAN host (IP address)").fill("192.168.88.10")
    await page.getByLabel("LAN port").fill("443")
    await page.getByRole("button", { name: "Generate credentials" }).click()
    await credentials.waitFor({ state: "visible" })
    assert.strictEqual(await credentials.locator("code[data-field=forwards-to]").textContent(), "192.168.88.10:443")
    assert.strictEqual(await credentials.locator("code[data-field=password]").count(), 0)
    const forwardRow = page.locator("#active-rows tr", { hasText: "Forward → 192.168.88.10:443" })
    await forwardRow.getByRole("cell", { name: "Active" }).waitFor({ timeout: 15_000 })
    await page.getByRole("button", { name: "I have saved them" }).click()
    await forwardRow.getByRole("button", { name: /^Revoke / }).click()
    await forwardRow.waitFor({ state: "detached" })
    assert.deepStrictEqual(errors, [])
  })
})
