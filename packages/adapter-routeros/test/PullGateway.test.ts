/**
 * The core DeviceGateway contract suite through pull mode: a bootstrapped simulated device
 * checks in over HTTPS (certificate checked), runs the returned job scripts with the
 * simulator's interpreter, and the gateway confirms each change from the next report.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { DeviceGateway } from "@transient-access/core"
import { DeviceGatewaySuite } from "@transient-access/core/testing"
import { renderJobScript } from "../src/PullScript.ts"
import { startPullHarness } from "./pullHarness.ts"
import { uniqueGrant, uniqueUser } from "./utils.ts"

const harness = await startPullHarness()
afterAll(() => harness.stop())

DeviceGatewaySuite.suite("RouterOS pull mode (simulator, HTTPS check-in)", harness.layer, {
  device: harness.device,
  probe: {
    usernames: () =>
      Effect.sync(() => harness.sim.state.users.items.map((user) => user.props.get("name") ?? "").filter((name) => name.startsWith("ta-")))
  }
})

describe("pull mode specifics", () => {
  it.live("the bootstrap installs a check-in scheduler that fires on the device clock", () =>
    Effect.gen(function*() {
      harness.pause(true)
      const entry = harness.sim.state.scheduler.find("ta-checkin")!
      assert.strictEqual(entry.props.get("interval"), "30s")
      assert.include(harness.sim.state.scripts.find("ta-checkin")!.props.get("source"), "check-certificate=\"yes\"")
      const before = harness.checkIns()
      yield* Effect.promise(() => harness.sim.clock.advance(31_000))
      assert.isAbove(harness.checkIns(), before, "the scheduler ran /tool fetch")
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false)))))

  it.live("the check-in refuses a bad token", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(harness.channel.checkIn(harness.device.id, { authorization: "Bearer nope", body: "seq=0" }))
      assert.strictEqual(error.reason, "Unauthorized")
    }))

  it.live("sequence fence: a replayed (old) job script changes nothing", () =>
    Effect.gen(function*() {
      const gateway = yield* DeviceGateway.DeviceGateway
      const username = uniqueUser()
      const spec = {
        grantId: uniqueGrant(), username, password: Redacted.make("Pw-pull-0123456789abc"), permission: "full" as const,
        allowedAddress: "10.8.0.1", expiresAt: Date.now() + 3_600_000
      }
      yield* gateway.createUser(harness.device, spec)
      // capture what a create looked like, with a sequence the device already applied
      const applied = Number(harness.sim.state.scripts.find("ta-seq")!.props.get("source"))
      const replay = renderJobScript([{ sequence: applied, command: { _tag: "CreateUser", spec, group: "full" } }], 0, true)
      yield* gateway.removeUser(harness.device, username)
      yield* Effect.promise(() => harness.sim.run(replay))
      assert.isUndefined(harness.sim.state.users.find(username), "a replayed create must not resurrect the user")
    }).pipe(Effect.provide(harness.layer)))

  it.live("an offline device: operations time out (retryable) and apply once it checks in again", () =>
    Effect.gen(function*() {
      const gateway = yield* DeviceGateway.DeviceGateway
      harness.pause(true)
      const username = uniqueUser()
      const spec = {
        grantId: uniqueGrant(), username, password: Redacted.make("Pw-pull-0123456789abc"), permission: "read-only" as const,
        allowedAddress: "10.8.0.1", expiresAt: Date.now() + 3_600_000
      }
      const fiber = yield* Effect.forkChild(gateway.createUser(harness.device, spec))
      yield* Effect.sleep("300 millis")
      assert.isUndefined(harness.sim.state.users.find(username))
      harness.pause(false)
      yield* Fiber.join(fiber)
      assert.strictEqual(harness.sim.state.users.find(username)?.props.get("disabled"), "true")
      yield* gateway.removeUser(harness.device, username)
    }).pipe(Effect.provide(harness.layer)))
})
