import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import { layerApi } from "../src/ApiTransport.ts"
import { adminCredentials, deviceOf, simulator, uniqueGrant, uniqueUser } from "./utils.ts"

describe("DeviceGateway over the API (simulator)", () => {
  it.live("create (disabled) → enable → inventory → remove, with device-side expiry", () =>
    Effect.gen(function*() {
      const sim = yield* simulator({ profile: "v7.18" })
      const device = deviceOf(sim)
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      const username = uniqueUser()
      const spec = {
        grantId, username, password: Redacted.make("Pw-0123456789abcdefXYZ"), permission: "read-only" as const,
        allowedAddress: "127.0.0.1", expiresAt: Date.now() + 3_600_000
      }
      yield* gateway.createUser(device, spec)
      yield* gateway.createUser(device, spec) // idempotent
      const user = sim.state.users.find(username)!
      assert.strictEqual(user.props.get("disabled"), "true")
      assert.strictEqual(user.props.get("group"), "read")
      assert.strictEqual(user.props.get("address"), "127.0.0.1/32")
      assert.strictEqual(user.props.get("comment"), `ta:${grantId}`)
      assert.isDefined(sim.state.scheduler.find(`ta-exp-${username}`))
      const inventory = yield* gateway.inventory(device)
      assert.deepStrictEqual(inventory.users, [{ username, grantId, disabled: true, permission: "read-only" }])
      yield* gateway.enableUser(device, username)
      assert.strictEqual(user.props.get("disabled"), "false")
      yield* gateway.removeUser(device, username)
      yield* gateway.removeUser(device, username)
      assert.isUndefined(sim.state.users.find(username))
      assert.isUndefined(sim.state.scheduler.find(`ta-exp-${username}`))
      const missing = yield* Effect.flip(gateway.enableUser(device, username))
      assert.strictEqual(missing.reason, "NotFound")
    }).pipe(Effect.provide(layerApi({ credentials: adminCredentials }))))
})
