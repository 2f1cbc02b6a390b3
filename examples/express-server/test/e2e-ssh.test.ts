/**
 * End to end, as a newcomer runs it: start the demo (`node src/main.ts`), create a grant
 * through the API, log in with the real OpenSSH client (through sshpass) to the simulated
 * router through the relay and run a command; revoke; the same login is refused; a login
 * from 127.0.0.2 (outside the grant's 127.0.0.1/32) is refused.
 *
 * Needs `ssh` and `sshpass`: with CI=true their absence fails the test, otherwise it skips.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { call, type DemoProcess, keys, startDemoProcess, waitForGrant } from "./helpers.ts"

const hasTool = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0
const missing = ["ssh", "sshpass"].filter((tool) => !hasTool(tool))
if (missing.length > 0 && process.env["CI"] === "true") {
  throw new Error(`e2e-ssh needs ${missing.join(", ")} (apt-get install openssh-client sshpass)`)
}

/** Runs `ssh` with the password through sshpass; returns exit status and output. */
const ssh = (input: {
  readonly user: string
  readonly password: string
  readonly port: number
  readonly bind?: string
  readonly command: string
}) => {
  const result = spawnSync(
    "sshpass",
    [
      "-e",
      "ssh",
      "-p",
      String(input.port),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "PreferredAuthentications=password,keyboard-interactive",
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      "ConnectTimeout=5",
      "-o",
      "NumberOfPasswordPrompts=1",
      ...(input.bind !== undefined ? ["-b", input.bind] : []),
      `${input.user}@127.0.0.1`,
      input.command
    ],
    { env: { ...process.env, SSHPASS: input.password }, encoding: "utf8", timeout: 20_000 }
  )
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` }
}

describe.skipIf(missing.length > 0)(
  `demo end to end with OpenSSH${missing.length > 0 ? ` (skipped: ${missing.join(", ")} missing)` : ""}`,
  () => {
    let demo: DemoProcess

    beforeAll(async () => {
      demo = await startDemoProcess()
    })
    afterAll(async () => {
      await demo?.stop()
    })

    it("ssh works through the relay while granted, and is refused after revoke and from outside the CIDR", async () => {
      const created = await call(demo.url, "POST", "/api/devices/rtr-1/grants", {
        key: keys.admin,
        body: { accessType: "ssh", permission: "read-only", ttlSeconds: 900, source: "127.0.0.1/32" }
      })
      assert.strictEqual(created.status, 201, created.text)
      const { credentials, grant } = created.body
      const ready = await waitForGrant(demo.url, keys.admin, grant.id, (g) => g.ready)
      assert.isTrue(ready.ready, "the grant became ready")

      const login = { user: credentials.username, password: credentials.password, port: credentials.port }
      const inside = ssh({ ...login, command: "/system identity print" })
      assert.strictEqual(inside.status, 0, inside.output)
      assert.include(inside.output, "rtr-1")

      const outside = ssh({ ...login, bind: "127.0.0.2", command: "/system identity print" })
      assert.notStrictEqual(outside.status, 0, "a login from 127.0.0.2 is refused")
      assert.notInclude(outside.output, "rtr-1")

      const revoked = await call(demo.url, "DELETE", `/api/grants/${grant.id}`, { key: keys.admin })
      assert.strictEqual(revoked.status, 200)
      const gone = await waitForGrant(demo.url, keys.admin, grant.id, (g) => g.state === "revoked")
      assert.strictEqual(gone.state, "revoked")

      const after = ssh({ ...login, command: "/system identity print" })
      assert.notStrictEqual(after.status, 0, "the same login is refused after revoke")
      assert.notInclude(after.output, "rtr-1")
    })
  }
)
