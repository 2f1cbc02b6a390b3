/**
 * Check-in reports are evidence only when fresh (the red-team finding): a check-in captured
 * before a grant existed and replayed with the device's token while the real device is held
 * back confirms nothing — the removal waits, the inventory waits, the password of a pending
 * create is not handed out again — and a report claiming a sequence never issued is refused
 * and changes nothing. Once the real device checks in again, everything completes.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import { DeviceGateway, type Ids, PullStore } from "@transient-access/core"
import * as Context from "effect/Context"
import { type PullHarness, startPullHarness } from "./pullHarness.ts"

let harness: PullHarness
beforeAll(async () => {
  harness = await startPullHarness()
  while (harness.requests().length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
})
afterAll(() => harness?.stop())

let counter = 0
const spec = () => {
  counter++
  return {
    grantId: `ga_replay${counter}` as Ids.GrantId,
    username: `ta-replay${counter}`,
    password: Redacted.make(`Pw-replay-${counter}-0123456789`),
    permission: "full" as const,
    allowedAddress: "10.8.0.1",
    expiresAt: Date.now() + 3_600_000
  }
}

describe("pull mode: replayed and forged check-ins", () => {
  it.live("a check-in replayed while the device is held back never confirms a removal", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const pullStore = Context.get(harness.stores, PullStore.PullStore)
      // captured before the grant existed: the device's genuine report, without the user
      const captured = harness.requests().at(-1)!
      const user = spec()
      yield* gateway.createUser(harness.device, user)
      yield* gateway.enableUser(harness.device, user.username)
      harness.pause(true) // the real device is held back
      const removal = yield* Effect.forkChild(gateway.removeUser(harness.device, user.username))
      const inventory = yield* Effect.forkChild(gateway.inventory(harness.device))
      for (let round = 0; round < 10; round++) {
        yield* harness.channel.checkIn(harness.device.id, captured)
        yield* Effect.sleep("30 millis")
      }
      assert.isUndefined(removal.pollUnsafe(), "the removal is still waiting for fresh evidence")
      assert.isUndefined(inventory.pollUnsafe(), "so is the inventory")
      assert.strictEqual(harness.sim.state.users.find(user.username)?.props.get("disabled"), "false", "the user is still on the router")
      const last = yield* pullStore.lastCheckIn(harness.device.id)
      assert.isTrue(last._tag === "Some" && last.value.sequence >= Number(/seq=(\d+)/.exec(captured.body)?.[1] ?? 0))
      harness.pause(false)
      yield* Fiber.join(removal)
      const listed = yield* Fiber.join(inventory)
      assert.isUndefined(harness.sim.state.users.find(user.username), "removed once the real device checked in")
      assert.isFalse(listed.users.some((entry) => entry.username === user.username))
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false))), Effect.provide(harness.layer))
  )

  it.live("a pending create's password is handed out once per sequence: a replayed check-in gets a note instead", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const captured = harness.requests().at(-1)!
      harness.pause(true)
      const user = spec()
      const create = yield* Effect.forkChild(Effect.result(gateway.createUser(harness.device, user)))
      yield* Effect.sleep("50 millis")
      // the first reply carries it (as the device's own check-in would)…
      const first = yield* harness.channel.checkIn(harness.device.id, captured)
      assert.include(first, Redacted.value(user.password))
      // …a replay of the same request does not, nor does a stale (older) one
      const again = yield* harness.channel.checkIn(harness.device.id, captured)
      assert.notInclude(again, Redacted.value(user.password), "delivered once per issued sequence")
      const stale = harness.requests()[0]!
      assert.notInclude(yield* harness.channel.checkIn(harness.device.id, stale), Redacted.value(user.password))
      // that reply never reached the device: its next check-in consumes the sequence without
      // the user, the create fails retryably, and a retry under a new sequence reaches it
      harness.pause(false)
      const outcome = yield* Fiber.join(create)
      assert.isTrue(outcome._tag === "Failure" && outcome.failure.retryable, JSON.stringify(outcome))
      yield* gateway.createUser(harness.device, user)
      assert.isDefined(harness.sim.state.users.find(user.username), "the retry reached the device")
      yield* gateway.removeUser(harness.device, user.username)
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false))), Effect.provide(harness.layer))
  )

  it.live("a report claiming a sequence never issued is refused and changes nothing", () =>
    Effect.gen(function* () {
      const pullStore = Context.get(harness.stores, PullStore.PullStore)
      const captured = harness.requests().at(-1)!
      const applied = yield* pullStore.appliedSequence(harness.device.id)
      const forged = { ...captured, body: captured.body.replace(/seq=\d+/, "seq=999999999") }
      assert.notStrictEqual(forged.body, captured.body)
      const error = yield* Effect.flip(harness.channel.checkIn(harness.device.id, forged))
      assert.strictEqual(error.reason, "UnknownSequence")
      assert.strictEqual(yield* pullStore.appliedSequence(harness.device.id), applied, "a forged sequence never raises applied")
      // the device's later grants still go through
      const gateway = yield* DeviceGateway.DeviceGateway
      const user = spec()
      yield* gateway.createUser(harness.device, user)
      assert.isDefined(harness.sim.state.users.find(user.username))
      yield* gateway.removeUser(harness.device, user.username)
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false))), Effect.provide(harness.layer))
  )
})
