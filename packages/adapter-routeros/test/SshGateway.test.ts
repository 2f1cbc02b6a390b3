/**
 * The core DeviceGateway contract suite through the SSH (CLI) transport, against the
 * simulator's SSH server with its host key pinned; and host keys fail closed: a wrong pin
 * or a verifier that says no refuses the connection before any command runs, and the
 * explicit opt-out is logged.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { DeviceGatewaySuite } from "@transient-access/core/suites"
import { DeviceGateway, type DeviceUserSpec } from "@transient-access/core"
import * as Redacted from "effect/Redacted"
import * as SshTransport from "../src/SshTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminCredentials, adminPassword, deviceOf } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7" })
afterAll(() => sim.stop())
const pinned = sim.sshHostKeySha256 ?? ""

DeviceGatewaySuite.suite(
  "RouterOS SSH CLI (simulator v7)",
  SshTransport.layer({ credentials: adminCredentials, hostKeySha256: () => pinned }),
  {
    device: deviceOf(sim),
    probe: {
      usernames: () =>
        Effect.sync(() => sim.state.users.items.map((user) => user.props.get("name") ?? "").filter((name) => name.startsWith("ta-")))
    }
  }
)

const inventoryWith = (layer: Layer.Layer<DeviceGateway.DeviceGateway>) =>
  DeviceGateway.DeviceGateway.use((gateway) => gateway.inventory(deviceOf(sim))).pipe(Effect.provide(layer))

describe("SSH host keys fail closed", () => {
  it.effect("the pinned key of the simulator is its real key (ssh-keygen style)", () =>
    Effect.gen(function* () {
      assert.match(pinned, /^SHA256:[A-Za-z0-9+/]{43}$/)
      const inventory = yield* inventoryWith(SshTransport.layer({ credentials: adminCredentials, hostKeySha256: () => pinned }))
      assert.isArray(inventory.users)
    })
  )

  it.effect("a wrong pin refuses the connection: the user is never created, the password never sent", () =>
    Effect.gen(function* () {
      const wrong = `SHA256:${"A".repeat(43)}`
      const username = "ta-pinwrong1"
      const error = yield* Effect.flip(
        DeviceGateway.DeviceGateway.use((gateway) =>
          gateway.createUser(deviceOf(sim), {
            grantId: "ga_pinwrong" as DeviceUserSpec["grantId"],
            username,
            password: Redacted.make("never-sent-0123456789"),
            permission: "read-only",
            allowedAddress: "10.8.0.1",
            expiresAt: Date.now() + 600_000
          })
        ).pipe(Effect.provide(SshTransport.layer({ credentials: adminCredentials, hostKeySha256: () => wrong, callTimeoutMs: 3000 })))
      )
      assert.strictEqual(error._tag, "DeviceGatewayError")
      assert.strictEqual(error.reason, "Unreachable", error.message)
      assert.isUndefined(sim.state.users.find(username), "nothing ran on the device")
    })
  )

  it.effect("a verifier that says no refuses the connection", () =>
    Effect.gen(function* () {
      let asked = 0
      const error = yield* Effect.flip(
        inventoryWith(
          SshTransport.layer({
            credentials: adminCredentials,
            hostVerifier: (_device, key) => {
              asked++
              return SshTransport.fingerprint(key) === "SHA256:nope"
            },
            callTimeoutMs: 3000
          })
        )
      )
      assert.strictEqual(error._tag, "DeviceGatewayError")
      assert.isAtLeast(asked, 1)
    })
  )

  it.effect("accepting any key is an explicit opt-out, logged as a warning", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const inventory = yield* inventoryWith(SshTransport.layer({ credentials: adminCredentials, acceptAnyHostKey: true })).pipe(
        Effect.provide(Logger.layer([capture]))
      )
      assert.isArray(inventory.users)
      assert.isTrue(
        lines.some((line) => line.includes("acceptAnyHostKey")),
        lines.join("\n")
      )
    })
  )
})
