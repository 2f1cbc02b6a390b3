/**
 * The core DeviceGateway contract suite through the API push transport, against the
 * simulator (v7.18 profile: `!empty` replies on empty prints), plus adapter specifics.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import { DeviceGatewaySuite } from "@transient-access/core/testing"
import { layerApi } from "../src/ApiTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf, uniqueGrant, uniqueUser } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7.18", sshPort: false })
afterAll(() => sim.stop())
const device = deviceOf(sim)
const layer = layerApi({ credentials: adminCredentials })

DeviceGatewaySuite.suite("RouterOS API push (simulator v7.18)", layer, {
  device,
  probe: {
    usernames: () =>
      Effect.sync(() => sim.state.users.items.map((user) => user.props.get("name") ?? "").filter((name) => name.startsWith("ta-")))
  }
})

describe("RouterOS API push specifics", () => {
  it.live("createUser writes group, address, tag and a device-side expiry entry first", () =>
    Effect.gen(function*() {
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      const username = uniqueUser()
      const expiresAt = Date.now() + 3_600_000
      yield* gateway.createUser(device, {
        grantId, username, password: Redacted.make("Pw-0123456789abcdefXYZ"), permission: "read-only",
        allowedAddress: "10.8.0.1", expiresAt
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
    }).pipe(Effect.provide(layer)))
})
