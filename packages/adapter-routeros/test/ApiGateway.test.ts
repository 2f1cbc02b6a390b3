/**
 * The core DeviceGateway contract suite through the API push transport, against the
 * simulator (v7.18 profile: `!empty` replies on empty prints), plus adapter specifics.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import { DeviceGatewaySuite } from "@transient-access/core/suites"
import * as ApiTransport from "../src/ApiTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf, uniqueGrant, uniqueUser } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7.18", sshPort: false })
afterAll(() => sim.stop())
const device = deviceOf(sim)
const layer = ApiTransport.layer({ credentials: adminCredentials })

DeviceGatewaySuite.suite("RouterOS API push (simulator v7.18)", layer, {
  device,
  probe: {
    usernames: () =>
      Effect.sync(() => sim.state.users.items.map((user) => user.props.get("name") ?? "").filter((name) => name.startsWith("ta-")))
  }
})

describe("RouterOS API push specifics", () => {
  it.live("createUser writes group, address, tag and a device-side expiry entry first", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      const username = uniqueUser()
      const expiresAt = Date.now() + 3_600_000
      yield* gateway.createUser(device, {
        grantId,
        username,
        password: Redacted.make("Pw-0123456789abcdefXYZ"),
        permission: "read-only",
        allowedAddress: "10.8.0.1",
        expiresAt
      })
      const user = sim.state.users.find(username)!
      assert.strictEqual(user.props.get("disabled"), "true")
      assert.strictEqual(user.props.get("group"), "read")
      assert.strictEqual(user.props.get("address"), "10.8.0.1/32")
      assert.strictEqual(user.props.get("comment"), `ta:${grantId}`)
      const entry = sim.state.scheduler.find(`ta-exp-${username}`)!
      assert.strictEqual(entry.props.get("comment"), `ta:${grantId}|exp=${expiresAt}`)
      assert.strictEqual(entry.props.get("interval"), "0s")
      const runAt = Date.parse(`${entry.props.get("start-date")}T${entry.props.get("start-time")}Z`)
      assert.isTrue(runAt >= expiresAt && runAt < expiresAt + 2500, "expiry entry fires within ~2 s after expiresAt")
      yield* gateway.removeUser(device, username)
      assert.isUndefined(sim.state.scheduler.find(`ta-exp-${username}`))
    }).pipe(Effect.provide(layer))
  )

  it.live("openForward writes a disabled dst-nat rule the router does not use until enableForward; a late enable finds nothing", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      const listenPort = 30_000 + Math.floor(Math.random() * 9_000)
      const forward = {
        grantId,
        listenPort,
        to: { address: "192.0.2.10", port: 80 },
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      }
      const translated = () => sim.state.dstnatFor(device.tunnelAddress, listenPort, "10.8.0.1")
      yield* gateway.openForward(device, forward)
      const rule = sim.state.nat.items.find((item) => item.props.get("comment") === `ta:${grantId}`)!
      assert.strictEqual(rule.props.get("disabled"), "true")
      assert.strictEqual(rule.props.get("chain"), "dstnat")
      assert.isUndefined(translated(), "a disabled rule forwards nothing")
      yield* gateway.enableForward(device, grantId)
      assert.deepStrictEqual(translated(), { address: "192.0.2.10", port: 80 })
      assert.isUndefined(sim.state.dstnatFor(device.tunnelAddress, listenPort, "10.8.0.9"), "only the allowed source")
      yield* gateway.openForward(device, forward)
      assert.strictEqual(rule.props.get("disabled"), "false", "a repeated open leaves an enabled rule enabled")
      yield* gateway.closeForward(device, grantId)
      assert.isUndefined(translated())
      const late = yield* Effect.flip(gateway.enableForward(device, grantId))
      assert.strictEqual(late.reason, "NotFound")
      assert.isFalse(sim.state.nat.items.some((item) => item.props.get("comment") === `ta:${grantId}`))
    }).pipe(Effect.provide(layer))
  )
})
