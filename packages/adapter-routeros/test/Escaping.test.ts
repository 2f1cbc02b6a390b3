/**
 * The one escaping function, by property: arbitrary strings (quotes, `$`, backslashes,
 * newlines, brackets, unicode) placed in values and comments survive rendering → the
 * simulator's interpreter unchanged, also nested one level inside a scheduler's `on-event`
 * script, and never run a second command. Failing seeds are printed by fast-check.
 */
import { afterAll, assert, describe, it } from "vitest"
import * as fc from "fast-check"
import * as Redacted from "effect/Redacted"
import type { Ids } from "@transient-access/core"
import { renderJobScript } from "../src/internal/jobScript.ts"
import { command, findWhere, quote } from "../src/RosScript.ts"
import { parseScript } from "../src/testing/CliParser.ts"
import { startSimulator } from "../src/testing/index.ts"

const sim = await startSimulator({ sshPort: false, clock: "frozen" })
afterAll(() => sim.stop())

const nasty = fc
  .array(
    fc.constantFrom(
      '"',
      "$",
      "\\",
      "\n",
      "\r",
      "\t",
      "[",
      "]",
      "{",
      "}",
      "(",
      ")",
      ";",
      "?",
      "#",
      "=",
      "~",
      " ",
      "$(",
      "$[",
      "\\22",
      "\\\n",
      "é",
      "✓",
      "日本",
      "🙂",
      "\u0000",
      "/user remove [find]",
      ":put x",
      "a",
      "Z",
      "9"
    ),
    { maxLength: 24 }
  )
  .map((parts) => parts.join(""))
const value = fc
  .oneof(nasty, fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 40 }))
  .filter((text) => Buffer.from(text, "utf8").toString("utf8") === text) // lone surrogates have no UTF-8 form

/** Stored values are the UTF-8 bytes of the input, as a byte string. */
const stored = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text, "latin1").toString("utf8"))

/** Everything that a second command could change. */
const fingerprint = () =>
  JSON.stringify({
    users: sim.state.users.items.length,
    scheduler: sim.state.scheduler.items.map((item) => item.props.get("name")),
    scripts: sim.state.scripts.items.map((item) => item.props.get("name")),
    nat: sim.state.nat.items.length,
    files: sim.state.files.items.length,
    identity: sim.state.identity,
    log: sim.log.length
  })

let counter = 0

describe("RosScript.quote", () => {
  it("escapes everything outside the whitelist as \\HH", () => {
    assert.strictEqual(quote('a"b$c?d\\e'), '"a\\22b\\24c\\3Fd\\5Ce"')
    assert.strictEqual(quote("é"), '"\\C3\\A9"')
  })

  it("property: any value survives a command and never runs a second command", async () => {
    await fc.assert(
      fc.asyncProperty(value, value, async (source, comment) => {
        const name = `p${counter++}`
        const before = fingerprint()
        const output = await sim.run(command(["system", "script"], "add", { name, source, comment }))
        assert.strictEqual(output, "")
        const item = sim.state.scripts.find(name)!
        assert.strictEqual(stored(item.props.get("source")), source)
        assert.strictEqual(stored(item.props.get("comment")), comment)
        const after = JSON.parse(fingerprint()) as { scripts: Array<string> }
        assert.deepStrictEqual(after.scripts.slice(0, -1), (JSON.parse(before) as { scripts: Array<string> }).scripts)
        assert.strictEqual(JSON.stringify({ ...JSON.parse(before), scripts: [] }), JSON.stringify({ ...after, scripts: [] }))
        await sim.run(command(["system", "script"], "remove", {}, [findWhere("name", name)]))
      }),
      { numRuns: 300 }
    )
  })

  it("property: a value nested in a scheduler's on-event survives when the entry fires", async () => {
    await fc.assert(
      fc.asyncProperty(value, async (text) => {
        const name = `n${counter++}`
        const inner = command(["system", "script"], "add", { name: `${name}-inner`, source: text })
        await sim.run(command(["system", "scheduler"], "add", { name, interval: "0s", "start-time": "startup", "on-event": inner }))
        assert.strictEqual(sim.state.scheduler.find(name)?.props.get("on-event"), inner)
        const before = fingerprint()
        await sim.clock.advance(1000)
        const created = sim.state.scripts.find(`${name}-inner`)
        assert.isDefined(created, "the on-event script ran")
        assert.strictEqual(stored(created!.props.get("source")), text)
        const after = JSON.parse(fingerprint()) as { scripts: Array<string> }
        assert.deepStrictEqual(after.scripts, [...(JSON.parse(before) as { scripts: Array<string> }).scripts, `${name}-inner`])
        await sim.run(
          `${command(["system", "script"], "remove", {}, [findWhere("name", `${name}-inner`)])}; ${command(["system", "scheduler"], "remove", {}, [findWhere("name", name)])}`
        )
      }),
      { numRuns: 150 }
    )
  })

  it("property: a pull-mode job script carries any password unchanged and runs nothing else", async () => {
    await sim.run('/system script add name="ta-seq" source="0"')
    let sequence = 0
    await fc.assert(
      fc.asyncProperty(value, async (password) => {
        const username = `ta-prop${counter++}`
        const before = JSON.parse(fingerprint()) as Record<string, unknown>
        await sim.run(
          renderJobScript(
            [
              {
                sequence: ++sequence,
                command: {
                  _tag: "CreateUser",
                  group: "read",
                  spec: {
                    grantId: `ga_prop${counter}` as Ids.GrantId,
                    username,
                    password: Redacted.make(password),
                    permission: "read-only",
                    allowedAddress: "10.8.0.1",
                    expiresAt: sim.clock.now() + 3_600_000
                  }
                }
              }
            ],
            0,
            true
          )
        )
        const user = sim.state.users.find(username)!
        assert.strictEqual(stored(user.props.get("password")), password)
        assert.strictEqual(user.props.get("disabled"), "true")
        const after = JSON.parse(fingerprint()) as Record<string, unknown>
        assert.strictEqual(after.users, (before.users as number) + 1)
        assert.deepStrictEqual(after.scheduler, [...(before.scheduler as Array<string>), `ta-exp-${username}`])
        await sim.run(`/user remove [find where name="${username}"]; /system scheduler remove [find where name="ta-exp-${username}"]`)
      }),
      { numRuns: 150 }
    )
  })

  it("property: a quoted value parses as exactly one string token", () => {
    fc.assert(
      fc.property(value, (text) => {
        const script = parseScript(`:put ${quote(text)}`)
        assert.strictEqual(script.length, 1)
        assert.strictEqual(script[0]!.items.length, 2)
        assert.strictEqual(script[0]!.items[1]!.value._tag, "Str")
      }),
      { numRuns: 500 }
    )
  })
})
