/**
 * The in-memory device gateway: the shared contract suite, then its device-side expiry,
 * login and session model under `TestClock`, and its faults.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { TestClock } from "effect/testing"
import { DeviceGateway } from "../src/DeviceGateway.ts"
import type { DeviceForwardSpec, DeviceUserSpec } from "../src/DeviceGateway.ts"
import type { DeviceId, GrantId, RegionId } from "../src/Ids.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import { MemoryDeviceGatewayControl } from "../src/testing/MemoryDeviceGateway.ts"
import * as DeviceGatewaySuite from "../src/suites/DeviceGatewaySuite.ts"
import type { Device } from "../src/Topology.ts"

const device: Device = {
  id: "rtr-1" as DeviceId,
  regionId: "eu-1" as RegionId,
  tunnelAddress: "10.8.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push"
}

DeviceGatewaySuite.suite("MemoryDeviceGateway", MemoryDeviceGateway.layer, {
  device,
  probe: {
    usernames: (d) =>
      MemoryDeviceGatewayControl.use((control) => control.users(d.id)).pipe(Effect.map((users) => users.map((user) => user.username)))
  }
})

const password = Redacted.make("s3cretPassw0rdAbcdefgh")
const spec = (username = "ta-abcd1234", overrides: Partial<DeviceUserSpec> = {}): DeviceUserSpec => ({
  grantId: "ga_1" as GrantId,
  username,
  password,
  permission: "full",
  allowedAddress: "10.8.0.1",
  expiresAt: 60_000,
  ...overrides
})
const forward: DeviceForwardSpec = {
  grantId: "ga_f" as GrantId,
  listenPort: 20_001,
  to: { address: "192.168.88.10", port: 80 },
  allowedAddress: "10.8.0.1",
  expiresAt: 60_000
}

const provide = <A, E>(effect: Effect.Effect<A, E, DeviceGateway | MemoryDeviceGatewayControl>) =>
  effect.pipe(Effect.provide(MemoryDeviceGateway.layer))

/** Creates and enables `ta-abcd1234`, logs in, and returns the session id. */
const enabledUserSession = Effect.gen(function* () {
  const gateway = yield* DeviceGateway
  const control = yield* MemoryDeviceGatewayControl
  yield* gateway.createUser(device, spec())
  yield* gateway.enableUser(device, "ta-abcd1234")
  const login = yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.1")
  if (!login.accepted) return assert.fail(`login refused: ${login.reason}`)
  return login.sessionId
})

describe("MemoryDeviceGateway logins and device-side expiry (TestClock)", () => {
  it.effect("login needs an enabled user, the right password and the allowed address", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* gateway.createUser(device, spec())
        assert.deepStrictEqual(yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.1"), {
          accepted: false,
          reason: "Disabled"
        })
        yield* gateway.enableUser(device, "ta-abcd1234")
        assert.isTrue((yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.1")).accepted)
        assert.isTrue((yield* control.login(device.id, "ta-abcd1234", Redacted.value(password), "10.8.0.1")).accepted)
        assert.deepStrictEqual(yield* control.login(device.id, "ta-abcd1234", "wrong", "10.8.0.1"), {
          accepted: false,
          reason: "BadPassword"
        })
        assert.deepStrictEqual(yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.9"), {
          accepted: false,
          reason: "AddressNotAllowed"
        })
        assert.deepStrictEqual(yield* control.login(device.id, "ta-zzzz9999", password, "10.8.0.1"), {
          accepted: false,
          reason: "NoSuchUser"
        })
      })
    )
  )

  it.effect("at expiresAt the device removes the user and ends its sessions, even while offline", () =>
    provide(
      Effect.gen(function* () {
        const control = yield* MemoryDeviceGatewayControl
        const sessionId = yield* enabledUserSession
        yield* control.setOffline(device.id, true)
        yield* TestClock.setTime(59_999)
        assert.isTrue(yield* control.sessionAlive(sessionId))
        assert.isTrue((yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.1")).accepted)
        yield* TestClock.setTime(60_000)
        assert.isFalse(yield* control.sessionAlive(sessionId))
        assert.deepStrictEqual(yield* control.users(device.id), [])
        assert.isFalse((yield* control.login(device.id, "ta-abcd1234", password, "10.8.0.1")).accepted)
        const expired = (yield* control.history).filter((change) => change.op === "user.expire")
        assert.deepStrictEqual(
          expired.map((change) => [change.username, change.at]),
          [["ta-abcd1234", 60_000]]
        )
      })
    )
  )

  it.effect("forwards expire on the device too", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* gateway.openForward(device, forward)
        yield* TestClock.setTime(59_999)
        assert.lengthOf((yield* gateway.inventory(device)).forwards, 1)
        yield* TestClock.setTime(60_000)
        assert.lengthOf((yield* gateway.inventory(device)).forwards, 0)
        assert.lengthOf(yield* control.forwards(device.id), 0)
      })
    )
  )

  it.effect("removeUser ends live sessions", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        const sessionId = yield* enabledUserSession
        yield* gateway.removeUser(device, "ta-abcd1234")
        assert.isFalse(yield* control.sessionAlive(sessionId))
        yield* gateway.createUser(device, spec())
        yield* gateway.enableUser(device, "ta-abcd1234")
        assert.isFalse(yield* control.sessionAlive(sessionId), "a recreated user revived an ended session")
      })
    )
  )

  it.effect("a late create after the remove stays disabled (the fence), and a late enable finds nothing", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* gateway.removeUser(device, "ta-abcd1234")
        yield* gateway.createUser(device, spec())
        const [user] = yield* control.users(device.id)
        assert.isTrue(user?.disabled)
        yield* gateway.removeUser(device, "ta-abcd1234")
        assert.strictEqual((yield* Effect.flip(gateway.enableUser(device, "ta-abcd1234"))).reason, "NotFound")
      })
    )
  )

  it.effect("a late forward open after the close stays disabled (the fence), and a late enable finds nothing", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* gateway.closeForward(device, forward.grantId)
        yield* gateway.openForward(device, forward)
        assert.deepStrictEqual(
          (yield* control.forwards(device.id)).map((listed) => listed.disabled),
          [true]
        )
        yield* gateway.closeForward(device, forward.grantId)
        assert.strictEqual((yield* Effect.flip(gateway.enableForward(device, forward.grantId))).reason, "NotFound")
        assert.deepStrictEqual(yield* control.forwards(device.id), [])
        const ops = (yield* control.history).map((change) => [change.op, change.changed])
        assert.deepStrictEqual(ops, [
          ["forward.close", false],
          ["forward.open", true],
          ["forward.close", true]
        ])
      })
    )
  )

  it.effect("a user created past its expiry never exists", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* TestClock.setTime(60_000)
        yield* gateway.createUser(device, spec())
        assert.deepStrictEqual(yield* control.users(device.id), [])
        assert.strictEqual((yield* Effect.flip(gateway.enableUser(device, "ta-abcd1234"))).reason, "NotFound")
      })
    )
  )
})

describe("MemoryDeviceGateway faults, validation and history", () => {
  it.effect("offline fails every operation Unreachable; failNext fails before or after applying", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* control.setOffline(device.id, true)
        assert.strictEqual((yield* Effect.flip(gateway.inventory(device))).reason, "Unreachable")
        yield* control.setOffline(device.id, false)
        yield* control.failNext(device.id, 1, "Timeout")
        assert.strictEqual((yield* Effect.flip(gateway.createUser(device, spec()))).reason, "Timeout")
        assert.lengthOf(yield* control.users(device.id), 0)
        yield* control.failNext(device.id, 1, "Timeout", { afterApply: true })
        assert.strictEqual((yield* Effect.flip(gateway.createUser(device, spec()))).reason, "Timeout")
        assert.lengthOf(yield* control.users(device.id), 1)
      })
    )
  )

  it.effect("malformed input is Rejected", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const rejected = [
          spec("ta-abcd1234", { allowedAddress: "10.8.0.01" }),
          spec("ta-abcd1234", { allowedAddress: "::ffff:10.8.0.1" }),
          spec("ta-abcd1234", { expiresAt: -1 }),
          spec("ta-abcd1234", { grantId: "bad id" as GrantId }),
          spec("ta-abcd1234", { password: Redacted.make("") })
        ]
        for (const candidate of rejected) {
          assert.strictEqual((yield* Effect.flip(gateway.createUser(device, candidate))).reason, "Rejected")
        }
        const badForwards: ReadonlyArray<DeviceForwardSpec> = [
          { ...forward, listenPort: 0 },
          { ...forward, to: { address: "192.168.088.10", port: 80 } },
          { ...forward, to: { address: "192.168.88.10", port: 70_000 } },
          { ...forward, allowedAddress: "any" }
        ]
        for (const candidate of badForwards) {
          assert.strictEqual((yield* Effect.flip(gateway.openForward(device, candidate))).reason, "Rejected")
        }
        const inventory = yield* gateway.inventory(device)
        assert.deepStrictEqual(inventory, { users: [], forwards: [] })
      })
    )
  )

  it.effect("history records every applied create, enable and remove with time", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        yield* TestClock.setTime(1_000)
        yield* gateway.createUser(device, spec())
        yield* gateway.createUser(device, spec())
        yield* TestClock.setTime(2_000)
        yield* gateway.enableUser(device, "ta-abcd1234")
        yield* Effect.flip(gateway.createUser(device, spec("admin")))
        yield* TestClock.setTime(3_000)
        yield* gateway.removeUser(device, "ta-abcd1234")
        yield* gateway.removeUser(device, "ta-abcd1234")
        const history = (yield* control.history).map(({ at, changed, op }) => [op, at, changed])
        assert.deepStrictEqual(history, [
          ["user.create", 1_000, true],
          ["user.create", 1_000, false],
          ["user.enable", 2_000, true],
          ["user.remove", 3_000, true],
          ["user.remove", 3_000, false]
        ])
      })
    )
  )

  it.effect("history keeps the newest historyLimit entries", () =>
    Effect.gen(function* () {
      const { control, gateway } = yield* MemoryDeviceGateway.make({ historyLimit: 2 })
      for (const name of ["ta-aaaa1111", "ta-bbbb2222", "ta-cccc3333"]) yield* gateway.removeUser(device, name)
      assert.deepStrictEqual(
        (yield* control.history).map((change) => change.username),
        ["ta-bbbb2222", "ta-cccc3333"]
      )
    })
  )

  it.effect("devices are independent", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* DeviceGateway
        const control = yield* MemoryDeviceGatewayControl
        const other: Device = { ...device, id: "rtr-2" as DeviceId }
        yield* gateway.createUser(device, spec())
        yield* control.setOffline(device.id, true)
        yield* gateway.createUser(other, spec())
        assert.lengthOf((yield* gateway.inventory(other)).users, 1)
        assert.deepStrictEqual(yield* control.login(other.id, "ta-abcd1234", password, "10.8.0.1"), {
          accepted: false,
          reason: "Disabled"
        })
      })
    )
  )
})
