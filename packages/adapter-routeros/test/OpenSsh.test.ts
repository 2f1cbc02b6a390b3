/**
 * A real OpenSSH client (`ssh` through `sshpass`) logs into the simulator with credentials
 * issued by the gateway: a read-only user cannot run a write command, and the login is
 * refused while disabled, after `removeUser`, outside `address`, and after the device-side
 * expiry entry fires.
 */
import { execFile, execFileSync } from "node:child_process"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import * as ApiTransport from "../src/ApiTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf, uniqueGrant, uniqueUser } from "./utils.ts"

const available = (binary: string) => {
  try {
    execFileSync("which", [binary], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
const tools = available("ssh") && available("sshpass")
if (!tools && process.env.CI === "true") {
  throw new Error("OpenSSH tests need `ssh` and `sshpass` (apt-get install openssh-client sshpass)")
}

const ssh = (port: number, user: string, password: string, command: string) =>
  Effect.promise(
    () =>
      new Promise<{ code: number; output: string }>((resolve) => {
        execFile(
          "sshpass",
          [
            "-p",
            password,
            "ssh",
            "-p",
            String(port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=5",
            `${user}@127.0.0.1`,
            command
          ],
          { timeout: 15_000 },
          (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, output: `${stdout}${stderr}` })
          }
        )
      })
  )

const sim = await startSimulator({ adminPassword, clock: "frozen" })
afterAll(() => sim.stop())
const device = deviceOf(sim)
const layer = ApiTransport.layer({ credentials: adminCredentials })
const password = "Pw-ssh-0123456789abcXYZ"

const issue = (permission: "full" | "read-only", options: { allowedAddress?: string; ttlMs?: number } = {}) =>
  Effect.gen(function* () {
    const gateway = yield* DeviceGateway.DeviceGateway
    const username = uniqueUser()
    yield* gateway.createUser(device, {
      grantId: uniqueGrant(),
      username,
      password: Redacted.make(password),
      permission,
      allowedAddress: options.allowedAddress ?? "127.0.0.1",
      expiresAt: Date.now() + (options.ttlMs ?? 3_600_000)
    })
    return username
  })

describe.skipIf(!tools)("OpenSSH client against the simulator", () => {
  it.live("issued credentials log in only once enabled; read-only cannot write; refused after removeUser", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const username = yield* issue("read-only")
      assert.notStrictEqual((yield* ssh(sim.sshPort!, username, password, "/system identity print")).code, 0, "disabled user logged in")
      yield* gateway.enableUser(device, username)
      const read = yield* ssh(sim.sshPort!, username, password, "/system identity print")
      assert.strictEqual(read.code, 0, read.output)
      assert.include(read.output, "name=MikroTik")
      const write = yield* ssh(sim.sshPort!, username, password, "/user add name=sneaky group=full password=Sneaky-123456")
      assert.include(write.output, "not enough permissions")
      assert.isUndefined(sim.state.users.find("sneaky"))
      assert.notStrictEqual((yield* ssh(sim.sshPort!, username, "wrong-password", "/system identity print")).code, 0)
      yield* gateway.removeUser(device, username)
      const after = yield* ssh(sim.sshPort!, username, password, "/system identity print")
      assert.notStrictEqual(after.code, 0, "login after removeUser")
    }).pipe(Effect.provide(layer))
  )

  it.live("a full user can run a write command; a user restricted to another address is refused", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const full = yield* issue("full")
      yield* gateway.enableUser(device, full)
      const result = yield* ssh(sim.sshPort!, full, password, '/system script add name=made-by-ssh source=":put 1"')
      assert.strictEqual(result.code, 0, result.output)
      assert.isDefined(sim.state.scripts.find("made-by-ssh"))
      const elsewhere = yield* issue("full", { allowedAddress: "10.8.0.1" })
      yield* gateway.enableUser(device, elsewhere)
      assert.notStrictEqual((yield* ssh(sim.sshPort!, elsewhere, password, "/system identity print")).code, 0)
      yield* gateway.removeUser(device, full)
      yield* gateway.removeUser(device, elsewhere)
    }).pipe(Effect.provide(layer))
  )

  it.live("the device-side expiry entry removes the user on the device clock, with no SDK call", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const username = yield* issue("read-only", { ttlMs: 60_000 })
      yield* gateway.enableUser(device, username)
      assert.strictEqual((yield* ssh(sim.sshPort!, username, password, "/system identity print")).code, 0)
      yield* Effect.promise(() => sim.clock.advance(30_000))
      assert.strictEqual((yield* ssh(sim.sshPort!, username, password, "/system identity print")).code, 0, "still valid before expiry")
      yield* Effect.promise(() => sim.clock.advance(33_000))
      assert.isUndefined(sim.state.users.find(username))
      assert.isUndefined(sim.state.scheduler.find(`ta-exp-${username}`))
      assert.notStrictEqual((yield* ssh(sim.sshPort!, username, password, "/system identity print")).code, 0, "login after expiry")
    }).pipe(Effect.provide(layer))
  )

  it.live("request-logout (removeUser) ends a live interactive session", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const username = yield* issue("read-only")
      yield* gateway.enableUser(device, username)
      const live = execFile(
        "sshpass",
        [
          "-p",
          password,
          "ssh",
          "-tt",
          "-p",
          String(sim.sshPort),
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
          "-o",
          "PreferredAuthentications=password",
          "-o",
          "PubkeyAuthentication=no",
          `${username}@127.0.0.1`
        ],
        { timeout: 15_000 }
      )
      const closed = new Promise<number | null>((resolve) => live.on("exit", resolve))
      for (
        let attempt = 0;
        attempt < 50 && !sim.state.active.items.some((row) => row.props.get("name") === username && row.props.get("via") === "ssh");
        attempt++
      ) {
        yield* Effect.sleep("100 millis")
      }
      assert.isTrue(
        sim.state.active.items.some((row) => row.props.get("name") === username),
        "session listed in /user/active"
      )
      yield* gateway.removeUser(device, username)
      const code = yield* Effect.promise(() => closed)
      assert.isNotNull(code)
      assert.isFalse(sim.state.active.items.some((row) => row.props.get("name") === username))
    }).pipe(Effect.provide(layer))
  )
})
