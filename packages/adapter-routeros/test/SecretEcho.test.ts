/**
 * Secrets never echo: a device that echoes the failing command — the password in it — does
 * not put the password in the gateway's error (message or cause), so no log line or audit
 * record built from that error can carry it. The API transport against the simulator with a
 * trap that quotes the command; the redaction of the RouterOS-quoted form on its own.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { DeviceGateway, type DeviceUserSpec, TargetError } from "@transient-access/core"
import * as ApiTransport from "../src/ApiTransport.ts"
import { quote } from "../src/RosScript.ts"
import { withoutSecret } from "../src/internal/menuClient.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7" })
afterAll(() => sim.stop())

describe("secrets never echo", () => {
  it.effect("a trap that quotes the failing /user/add (password included) yields an error without it", () =>
    Effect.gen(function* () {
      const password = 'Echo-"pw"-$secret-0123456789'
      sim.faults.inject({
        command: "/user/add",
        action: { _tag: "trap", message: `failure: could not add: /user/add name=ta-echo1 password="${password}" group=full` },
        times: 1
      })
      const spec: DeviceUserSpec = {
        grantId: "ga_echo1" as DeviceUserSpec["grantId"],
        username: "ta-echo1",
        password: Redacted.make(password),
        permission: "full",
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 600_000
      }
      const error = yield* Effect.flip(
        DeviceGateway.DeviceGateway.use((gateway) => gateway.createUser(deviceOf(sim), spec)).pipe(
          Effect.provide(ApiTransport.layer({ credentials: adminCredentials }))
        )
      )
      assert.strictEqual(error._tag, "DeviceGatewayError")
      assert.include(error.message, "[redacted]")
      assert.notInclude(error.message, password)
      assert.notInclude(JSON.stringify(error), password)
      assert.notInclude(String(error), password)
      assert.isUndefined((error as { cause?: unknown }).cause)
      sim.faults.clear()
    })
  )

  it("the RouterOS-quoted form of the secret is redacted too", () => {
    const secret = 'a"b\\c$d'
    const quoted = quote(secret).slice(1, -1) // as the transport sends it
    assert.notStrictEqual(quoted, secret)
    const error = new TargetError.DeviceGatewayError({ reason: "Unknown", target: "device:x", message: `echo: ${secret} and ${quoted}` })
    const clean = withoutSecret(secret)(error)
    assert.notInclude(clean.message, secret)
    assert.notInclude(clean.message, quoted)
    assert.strictEqual(clean.reason, "Unknown")
  })
})
