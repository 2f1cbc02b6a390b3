/**
 * The core DeviceGateway contract suite through pull mode: a bootstrapped simulated device
 * checks in over HTTPS (certificate checked), runs the returned job scripts with the
 * simulator's interpreter, and the gateway confirms each change from the next report.
 * Also: two channels over one `PullStore` (two processes), a restarted channel, and a create
 * whose password is gone.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { DeviceGateway, GrantStore, PullStore } from "@transient-access/core"
import { Fixtures } from "@transient-access/core/testing"
import { DeviceGatewaySuite } from "@transient-access/core/suites"
import { renderJobScript } from "../src/internal/jobScript.ts"
import * as PullChannel from "../src/PullChannel.ts"
import * as PullGateway from "../src/PullGateway.ts"
import { parseReport } from "../src/PullScript.ts"
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
  it("check-in reports carry each forward's disabled flag; a 5-column row of an older check-in script reads as enabled", () => {
    const report = parseReport(
      "seq=4&date=2026-01-01&time=00:00:00&users=&nat=ta:ga_a,20001,10.8.0.1/32,192.0.2.10,80,true;ta:ga_b,20002,10.8.0.1/32,192.0.2.10,80,false;ta:ga_c,20003,10.8.0.1/32,192.0.2.10,80;&sched="
    )
    assert.deepStrictEqual(
      report?.nat.map((rule) => [rule.comment, rule.disabled]),
      [
        ["ta:ga_a", true],
        ["ta:ga_b", false],
        ["ta:ga_c", false]
      ]
    )
  })

  it.live("a forward opens disabled and is enabled by a later command (its own sequence number)", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const grantId = uniqueGrant()
      const listenPort = 30_000 + Math.floor(Math.random() * 9_000)
      const tag = `ta:${grantId}`
      const rule = () => harness.sim.state.nat.items.find((item) => item.props.get("comment") === tag)
      yield* gateway.openForward(harness.device, {
        grantId,
        listenPort,
        to: { address: "192.0.2.10", port: 80 },
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      })
      assert.strictEqual(rule()?.props.get("disabled"), "true")
      assert.isUndefined(harness.sim.state.dstnatFor(harness.device.tunnelAddress, listenPort, "10.8.0.1"))
      yield* gateway.enableForward(harness.device, grantId)
      assert.strictEqual(rule()?.props.get("disabled"), "false")
      assert.deepStrictEqual(harness.sim.state.dstnatFor(harness.device.tunnelAddress, listenPort, "10.8.0.1"), {
        address: "192.0.2.10",
        port: 80
      })
      const listed = (yield* gateway.inventory(harness.device)).forwards.find((forward) => forward.grantId === grantId)
      assert.strictEqual(listed?.disabled, false)
      yield* gateway.closeForward(harness.device, grantId)
      assert.strictEqual((yield* Effect.flip(gateway.enableForward(harness.device, grantId))).reason, "NotFound")
      assert.isUndefined(rule())
    }).pipe(Effect.provide(harness.layer))
  )

  it.live("the bootstrap installs a check-in scheduler that fires on the device clock", () =>
    Effect.gen(function* () {
      harness.pause(true)
      const entry = harness.sim.state.scheduler.find("ta-checkin")!
      assert.strictEqual(entry.props.get("interval"), "30s")
      assert.include(harness.sim.state.scripts.find("ta-checkin")!.props.get("source"), 'check-certificate="yes"')
      const before = harness.checkIns()
      yield* Effect.promise(() => harness.sim.clock.advance(31_000))
      assert.isAbove(harness.checkIns(), before, "the scheduler ran /tool fetch")
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false))))
  )

  it.live("the check-in refuses a bad token", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(harness.channel.checkIn(harness.device.id, { authorization: "Bearer nope", body: "seq=0" }))
      assert.strictEqual(error.reason, "Unauthorized")
    })
  )

  it.live("sequence fence: a replayed (old) job script changes nothing", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      const username = uniqueUser()
      const spec = {
        grantId: uniqueGrant(),
        username,
        password: Redacted.make("Pw-pull-0123456789abc"),
        permission: "full" as const,
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      }
      yield* gateway.createUser(harness.device, spec)
      // capture what a create looked like, with a sequence the device already applied
      const applied = Number(harness.sim.state.scripts.find("ta-seq")!.props.get("source"))
      const replay = renderJobScript([{ sequence: applied, command: { _tag: "CreateUser", spec, group: "full" } }], 0, true)
      yield* gateway.removeUser(harness.device, username)
      yield* Effect.promise(() => harness.sim.run(replay))
      assert.isUndefined(harness.sim.state.users.find(username), "a replayed create must not resurrect the user")
    }).pipe(Effect.provide(harness.layer))
  )

  it.live("an offline device: operations time out (retryable) and apply once it checks in again", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      harness.pause(true)
      const username = uniqueUser()
      const spec = {
        grantId: uniqueGrant(),
        username,
        password: Redacted.make("Pw-pull-0123456789abc"),
        permission: "read-only" as const,
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      }
      const fiber = yield* Effect.forkChild(gateway.createUser(harness.device, spec))
      yield* Effect.sleep("300 millis")
      assert.isUndefined(harness.sim.state.users.find(username))
      harness.pause(false)
      yield* Fiber.join(fiber)
      assert.strictEqual(harness.sim.state.users.find(username)?.props.get("disabled"), "true")
      yield* gateway.removeUser(harness.device, username)
    }).pipe(Effect.provide(harness.layer))
  )

  it.live("inventory lists tagged and SDK-named users only (an operator's ta-sdk login is never listed)", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() => harness.sim.run(`/user add name=ta-sdk group=full password=Operator-Pw-1`))
      const gateway = yield* DeviceGateway.DeviceGateway
      const spec = userSpec()
      yield* gateway.createUser(harness.device, spec)
      const names = (yield* gateway.inventory(harness.device)).users.map((user) => user.username)
      assert.include(names, spec.username)
      assert.notInclude(names, "ta-sdk")
      yield* gateway.removeUser(harness.device, spec.username)
      yield* Effect.promise(() => harness.sim.run(`/user remove [find where name=ta-sdk]`))
    }).pipe(Effect.provide(harness.layer))
  )

  it.live("invalid addresses are refused before queueing (as in push mode), and later commands still apply", () =>
    Effect.gen(function* () {
      const gateway = yield* DeviceGateway.DeviceGateway
      harness.pause(true) // no check-in: a queued command would wait, not fail
      const bad = { ...userSpec(), allowedAddress: "10.8.0.1/32 disabled=no" }
      assert.strictEqual((yield* Effect.flip(gateway.createUser(harness.device, bad))).reason, "Rejected")
      const forward = {
        grantId: uniqueGrant(),
        listenPort: 39_500,
        to: { address: "not-an-address", port: 80 },
        allowedAddress: "10.8.0.1",
        expiresAt: Date.now() + 3_600_000
      }
      assert.strictEqual((yield* Effect.flip(gateway.openForward(harness.device, forward))).reason, "Rejected")
      harness.pause(false)
      const good = userSpec()
      yield* gateway.createUser(harness.device, good)
      assert.strictEqual(harness.sim.state.users.find(good.username)?.props.get("disabled"), "true")
      assert.isUndefined(harness.sim.state.users.find(bad.username))
      yield* gateway.removeUser(harness.device, good.username)
    }).pipe(Effect.provide(harness.layer))
  )
})

const userSpec = (permission: "full" | "read-only" = "full") => ({
  grantId: uniqueGrant(),
  username: uniqueUser(),
  password: Redacted.make(`Pw-pull-${Math.random().toString(36).slice(2, 14)}x`),
  permission,
  allowedAddress: "10.8.0.1",
  expiresAt: Date.now() + 3_600_000
})

describe("pull mode over a shared PullStore (several processes, restarts)", () => {
  it.live("two channels: a command queued through one is confirmed by a check-in served by the other", () =>
    Effect.gen(function* () {
      const other = yield* Effect.promise(() => harness.newChannel())
      const pullStore = Context.get(harness.stores, PullStore.PullStore)
      // process B serves every check-in; process A only queues and waits
      harness.serveWith(other)
      const spec = userSpec()
      const countBefore = (yield* pullStore.lastCheckIn(harness.device.id)).pipe(
        Option.map((last) => last.count),
        Option.getOrElse(() => 0)
      )
      yield* DeviceGateway.DeviceGateway.use((gateway) => gateway.createUser(harness.device, spec)).pipe(Effect.provide(harness.layer))
      assert.strictEqual(harness.sim.state.users.find(spec.username)?.props.get("disabled"), "true")
      const countAfter = Option.getOrThrow(yield* pullStore.lastCheckIn(harness.device.id)).count
      assert.isAbove(countAfter, countBefore, "check-ins recorded by channel B")
      // and the other way round: queued through B, served by A
      harness.serveWith(harness.channel)
      yield* DeviceGateway.DeviceGateway.use((gateway) =>
        Effect.gen(function* () {
          yield* gateway.enableUser(harness.device, spec.username)
          yield* gateway.removeUser(harness.device, spec.username)
        })
      ).pipe(Effect.provide(harness.gatewayOver(other)))
      assert.isUndefined(harness.sim.state.users.find(spec.username))
      assert.deepStrictEqual(yield* pullStore.pending(harness.device.id), [])
    }).pipe(Effect.ensuring(Effect.sync(() => harness.serveWith(harness.channel))))
  )

  it.live("restart: a new channel over the same store accepts the old token and delivers the pending command", () =>
    Effect.gen(function* () {
      harness.pause(true)
      const spec = userSpec("read-only")
      // the "old process" queues the create and dies before any check-in
      const waiting = yield* Effect.forkChild(
        DeviceGateway.DeviceGateway.use((gateway) => gateway.createUser(harness.device, spec)).pipe(Effect.provide(harness.layer))
      )
      const pullStore = Context.get(harness.stores, PullStore.PullStore)
      while ((yield* pullStore.pending(harness.device.id)).length === 0) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(waiting)
      const pending = yield* pullStore.pending(harness.device.id)
      assert.strictEqual(pending.length, 1)
      assert.notInclude(JSON.stringify(pending), Redacted.value(spec.password), "no password in the pull store")
      // the "new process": a fresh channel, serving check-ins with the token issued before
      const restarted = yield* Effect.promise(() => harness.newChannel())
      harness.serveWith(restarted)
      const refused = yield* Effect.flip(restarted.checkIn(harness.device.id, { authorization: "Bearer wrong", body: "seq=0" }))
      assert.strictEqual(refused.reason, "Unauthorized")
      harness.pause(false)
      const report = yield* restarted.awaitReport(
        harness.device.id,
        (seen) => seen.users.some((user) => user.name === spec.username),
        5000,
        {
          pollIntervalMs: 10
        }
      )
      assert.isTrue(report.users.some((user) => user.name === spec.username && user.disabled))
      assert.strictEqual(harness.sim.state.users.find(spec.username)?.props.get("group"), "read")
      assert.deepStrictEqual(yield* pullStore.pending(harness.device.id), [])
      yield* DeviceGateway.DeviceGateway.use((gateway) => gateway.removeUser(harness.device, spec.username)).pipe(
        Effect.provide(harness.gatewayOver(restarted))
      )
    }).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          harness.pause(false)
          harness.serveWith(harness.channel)
        })
      )
    )
  )

  it.live("a create whose password is gone is rendered as nothing, consumes its sequence and fails retryably", () =>
    Effect.gen(function* () {
      const grantStore = Context.get(harness.stores, GrantStore.GrantStore)
      const spec = userSpec()
      const grant = Fixtures.makeTestGrant({ id: spec.grantId, deviceId: harness.device.id, username: spec.username })
      yield* grantStore.insert(Fixtures.makeNewGrant(grant, { deviceSecret: Option.some(spec.password), jobs: () => [] }))
      yield* grantStore.wipeDeviceSecret(spec.grantId)
      // the bare pull gateway (no seeding): the grant exists, its device copy does not
      const bare = PullGateway.layer({ applyTimeoutMs: 5000, pollIntervalMs: 10 }).pipe(
        Layer.provide(Layer.succeed(PullChannel.PullChannel, harness.channel)),
        Layer.provide(Layer.succeed(GrantStore.GrantStore, grantStore))
      )
      const error = yield* Effect.flip(
        DeviceGateway.DeviceGateway.use((gateway) => gateway.createUser(harness.device, spec)).pipe(Effect.provide(bare))
      )
      assert.strictEqual(error.reason, "Unknown")
      assert.isTrue(error.retryable)
      assert.include(error.message, "password is gone")
      assert.isUndefined(harness.sim.state.users.find(spec.username), "no user without its password")
      assert.isTrue(
        harness.sim.log.some((line) => line.includes(`create of ${spec.username}`)),
        "the device logged the skipped create"
      )
      assert.deepStrictEqual(yield* Context.get(harness.stores, PullStore.PullStore).pending(harness.device.id), [])
    })
  )
})

describe("pull mode sequence numbers", () => {
  it.live("a sequence number drawn again (counter rolled back with a failed transaction) is skipped, not reused", () =>
    Effect.gen(function* () {
      const grantStore = Context.get(harness.stores, GrantStore.GrantStore)
      const pullStore = Context.get(harness.stores, PullStore.PullStore)
      const username = uniqueUser()
      // a timed-out attempt left its command queued under `stale`, then its transaction rolled back
      const stale = yield* grantStore.nextDeviceSequence(harness.device.id)
      harness.pause(true)
      assert.isTrue(yield* pullStore.enqueue(harness.device.id, { sequence: stale, command: { _tag: "RemoveUser", username } }))
      let replays = 2
      const rolledBack = GrantStore.GrantStore.of({
        ...grantStore,
        nextDeviceSequence: (deviceId) => (replays-- > 0 ? Effect.succeed(stale) : grantStore.nextDeviceSequence(deviceId))
      })
      const gateway = PullGateway.layer({ applyTimeoutMs: 5000, pollIntervalMs: 10 }).pipe(
        Layer.provide(Layer.succeed(PullChannel.PullChannel, harness.channel)),
        Layer.provide(Layer.succeed(GrantStore.GrantStore, rolledBack))
      )
      harness.pause(false)
      yield* DeviceGateway.DeviceGateway.use((service) => service.removeUser(harness.device, username)).pipe(Effect.provide(gateway))
      assert.isAbove(yield* pullStore.appliedSequence(harness.device.id), stale, "the command went out under a fresh number")
      assert.strictEqual(replays, -1, "the repeated number was drawn and skipped")
    }).pipe(Effect.ensuring(Effect.sync(() => harness.pause(false))))
  )
})
