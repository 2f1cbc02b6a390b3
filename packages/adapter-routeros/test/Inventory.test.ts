/**
 * The inventory lists only the SDK's users: an operator login whose name merely starts with
 * `ta-` (e.g. the SDK's own `ta-sdk` API login) is never listed, so the reconciler can never
 * remove it and lock the SDK out.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import * as ApiTransport from "../src/ApiTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf, uniqueGrant } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7", sshPort: false })
afterAll(() => sim.stop())
const device = deviceOf(sim)

describe("RouterOS inventory", () => {
  it.live("lists tagged and SDK-named users only", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => sim.run(`/user add name=ta-sdk group=full password=Operator-Pw-1`))
      yield* Effect.promise(() => sim.run(`/user add name=ta-abcdefghijkl group=read password=x`))
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      yield* gateway.createUser(device, {
        grantId,
        username: "ta-tagged00001",
        password: Redacted.make("Pw-0123456789abcdefXYZ"),
        permission: "read-only",
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      })
      const names = (yield* gateway.inventory(device)).users.map((user) => user.username).sort()
      assert.deepStrictEqual(names, ["ta-abcdefghijkl", "ta-tagged00001"])
    }).pipe(Effect.provide(ApiTransport.layer({ credentials: adminCredentials })))
  )
})
