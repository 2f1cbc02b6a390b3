/**
 * Adversarial review of the core engine (issue 2).
 *
 * The first six tests are regression tests of problems the review found (each failed before
 * its fix: reconciler vs. a concurrent provisioning, the secret wiped before progress was
 * recorded, force-revoke leaving its artifacts, a server revision ahead of the store, and
 * Engine.layer settings not in force at run time). The rest pin subtle behaviour that was
 * checked and found correct (including the forward fence: open disabled, enable after the
 * locked re-check).
 *
 * Every test runs on a `ManualClock` (sleeps return at once; time moves only when told) so
 * that the in-run store retries and the queue's retry delays are deterministic.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as References from "effect/References"
import { DeviceGateway } from "../src/DeviceGateway.ts"
import * as EngineConfig from "../src/EngineConfig.ts"
import { InvalidRequest } from "../src/Errors.ts"
import { execute } from "../src/internal/executor/execute.ts"
import { ExecutorFaults } from "../src/testing/ExecutorFaults.ts"
import * as Engine from "../src/Engine.ts"
import type { Grant } from "../src/Grant.ts"
import { Grants } from "../src/Grants.ts"
import { GrantStore, StoreError } from "../src/GrantStore.ts"
import type { ActorId, DeviceId, GrantId, RegionId } from "../src/Ids.ts"
import { jobFor } from "../src/Job.ts"
import { runOnce } from "../src/JobRunner.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import { MemoryDeviceGatewayControl } from "../src/testing/MemoryDeviceGateway.ts"
import * as MemoryGrantStore from "../src/MemoryGrantStore.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import { MemoryRegionalGatewayControl } from "../src/testing/MemoryRegionalGateway.ts"
import { relayOnce } from "../src/OutboxRelay.ts"
import type * as Policy from "../src/Policy.ts"
import { reconcileDevice, reconcileRegion } from "../src/Reconciler.ts"
import { RegionalGateway } from "../src/RegionalGateway.ts"
import * as SecretBox from "../src/SecretBox.ts"
import { DeviceGatewayError } from "../src/TargetError.ts"
import type { Device, Region } from "../src/Topology.ts"
import * as ManualClock from "../src/testing/ManualClock.ts"

const start = Date.UTC(2026, 0, 1)
const region: Region = {
  id: "eu" as RegionId,
  endpointHost: "access.example.net",
  portRange: { from: 30000, to: 30009 },
  tunnelAddress: "10.8.0.1"
}
const device: Device = {
  id: "router-1" as DeviceId,
  regionId: region.id,
  tunnelAddress: "10.8.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push",
  lanAddresses: ["192.168.88.1/24"]
}
const admin: Policy.Actor = { id: "alice" as ActorId, roles: ["admin"] }
const request = { deviceId: device.id, accessType: "ssh", permission: "full", source: "198.51.100.0/24", ttlSeconds: 3600 }

const forwardRequest = { ...request, kind: "port-forward", forward: { address: "192.168.88.10", port: 443 } } as const

const settings = { provisionAttempts: 3, stuckAfterAttempts: 3, retryBaseMs: 1_000, retryMaxMs: 10_000 }

interface HarnessOptions {
  readonly region?: Region
  /** Wraps the in-memory device gateway (to interleave other work with a call). */
  readonly device?: (inner: DeviceGateway["Service"]) => DeviceGateway["Service"]
  readonly store?: Layer.Layer<GrantStore>
  /** Wraps the in-memory regional gateway. */
  readonly regional?: (inner: RegionalGateway["Service"]) => RegionalGateway["Service"]
  readonly settings?: Partial<EngineConfig.EngineSettings>
}

/** The engine on in-memory targets, with both gateways' control services. */
const harness = (options: HarnessOptions = {}) =>
  Effect.gen(function* () {
    const regional = yield* MemoryRegionalGateway.make()
    const devices = yield* MemoryDeviceGateway.make()
    const wrapped = options.device === undefined ? devices.gateway : options.device(devices.gateway)
    return Engine.layer({
      regional: Layer.succeed(RegionalGateway, options.regional === undefined ? regional.gateway : options.regional(regional.gateway)),
      device: Layer.succeed(DeviceGateway, wrapped),
      devices: [device],
      regions: [options.region ?? region],
      ...(options.store !== undefined ? { store: options.store } : {}),
      settings: options.settings ?? settings
    }).pipe(
      Layer.provideMerge(Layer.succeed(MemoryRegionalGatewayControl, regional.control)),
      Layer.provideMerge(Layer.succeed(MemoryDeviceGatewayControl, devices.control))
    )
  })

type Env = Engine.Services | MemoryRegionalGatewayControl | MemoryDeviceGatewayControl

/** Runs `body` against a fresh harness on a manual clock. */
const scenario = <A, E>(body: (clock: ManualClock.ManualClock) => Effect.Effect<A, E, Env>, options: HarnessOptions = {}) => {
  const clock = ManualClock.make(start)
  return Effect.gen(function* () {
    const layer = yield* harness(options)
    return yield* body(clock).pipe(Effect.provide(layer))
  }).pipe(
    // Facade.layer does not expose its settings at run time (finding 5): provide them here.
    Effect.provideService(EngineConfig.EngineConfig, EngineConfig.make(settings)),
    Effect.provideService(Clock.Clock, clock.clock),
    Effect.provideService(References.MinimumLogLevel, "None")
  )
}

/** Relay + run every due job, then move the clock past the retry delays; `rounds` times. */
const drain = (clock: ManualClock.ManualClock, rounds = 8) =>
  Effect.gen(function* () {
    for (let round = 0; round < rounds; round++) {
      yield* relayOnce()
      while ((yield* runOnce({ consumer: "review", max: 16 })) > 0) yield* relayOnce()
      clock.advance(15_000)
    }
  })

const load = (grantId: GrantId) => GrantStore.use((store) => store.get(grantId)).pipe(Effect.map((found) => Option.getOrThrow(found)))

const userOf = (grant: Grant) =>
  MemoryDeviceGatewayControl.use((control) => control.users(grant.deviceId)).pipe(
    Effect.map((users) => users.find((user) => user.username === grant.username))
  )

/**
 * Holds the next call made while armed until released (a slow target), after telling the
 * test it was reached; `during` runs `reconcile` and does `meanwhile` while that call is held.
 */
const makeHold = () => {
  const state = { armed: false, reached: Deferred.makeUnsafe<void>(), release: Deferred.makeUnsafe<void>() }
  const hold = <A, E>(call: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      if (!state.armed) return call
      state.armed = false
      return Deferred.succeed(state.reached, undefined).pipe(Effect.andThen(Deferred.await(state.release)), Effect.andThen(call))
    })
  const during = <A, E, R, B, E2, R2>(reconcile: Effect.Effect<A, E, R>, meanwhile: Effect.Effect<B, E2, R2>) =>
    Effect.gen(function* () {
      state.armed = true
      const fiber = yield* Effect.forkChild(reconcile)
      yield* Deferred.await(state.reached)
      const value = yield* meanwhile
      yield* Deferred.succeed(state.release, undefined)
      return [yield* Fiber.join(fiber), value] as const
    })
  return { hold, during }
}

/** Grants and provisions one grant (to run while the reconciler's listing is held). */
const provisionOne = (clock: ManualClock.ManualClock) =>
  Effect.gen(function* () {
    const { grant } = yield* (yield* Grants).grant(admin, request)
    yield* drain(clock, 1)
    assert.strictEqual((yield* load(grant.id)).state, "active")
    return grant
  })

describe("review: demonstrated problems", () => {
  // FINDING 1 (high, availability + silent): the device reconciler reads the store's grants
  // BEFORE it lists the device. A grant created and provisioned in between (its user listed
  // by the inventory but absent from the stale store read) is treated as an orphan and its
  // user removed — with no fence. The grant stays `active` (deviceReady was recorded before)
  // and nothing ever re-creates the user: the caller holds credentials that never work.
  // Correct: a user of a live grant is never removed by the reconciler (list the target
  // first, then read the store; or re-check each candidate in the store before removal).
  it.effect("reconciler: a grant provisioned while the reconciler lists the device keeps its user", () => {
    const { hold, during } = makeHold()
    const wrap = (inner: DeviceGateway["Service"]): DeviceGateway["Service"] => ({
      ...inner,
      inventory: (target) => hold(inner.inventory(target))
    })
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          const [, grant] = yield* during(reconcileDevice(device), provisionOne(clock))
          assert.strictEqual((yield* load(grant.id)).state, "active")
          assert.isDefined(yield* userOf(grant), "the reconciler removed the user of a live, active grant")
        }),
      { device: wrap }
    )
  })

  // FINDING 2 (medium, availability): userCreate wipes the device's copy of the password
  // BEFORE it records `deviceReady`. If that record fails (a store hiccup, or the worker is
  // interrupted/crashes, or a second delivery runs concurrently after a lease expired), the
  // next run finds the secret gone and returns `Failed`, and the JobRunner compensates: a
  // grant whose user exists and works is revoked as `failed`.
  // Correct: one transient store error must not kill a provisioned grant — record progress
  // first and wipe after, and/or when the secret is gone check the inventory (user present
  // and enabled → record ready) instead of failing.
  it.effect("userCreate: a store error after the secret wipe does not revoke a working grant", () => {
    const faults = { failDeviceReady: 0 }
    const store = Layer.effect(
      GrantStore,
      Effect.gen(function* () {
        const inner = yield* MemoryGrantStore.make
        return GrantStore.of({
          ...inner,
          update: (input) =>
            Effect.suspend(() => {
              if (faults.failDeviceReady > 0 && input.patch.progress?.deviceReady === true) {
                faults.failDeviceReady--
                return Effect.fail(new StoreError({ reason: "Unavailable", message: "connection reset" }))
              }
              return inner.update(input)
            })
        })
      })
    ).pipe(Layer.provide(SecretBox.layerEphemeral))
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          faults.failDeviceReady = 1
          const { grant } = yield* (yield* Grants).grant(admin, request)
          yield* drain(clock, 4)
          const final = yield* load(grant.id)
          assert.strictEqual(final.revokeReason, null, `revoked as ${final.revokeReason} after one store hiccup`)
          assert.strictEqual(final.state, "active")
        }),
      { store }
    )
  })

  // FINDING 3 (medium): forceRevoke frees the port at once, but after it the removal jobs are
  // no-ops (`natClose`/`deviceRemove` return Done for a grant that is not `revoking`), so the
  // old NAT path (and user) stay until a reconciler pass. The next grant drawn on that port
  // gets `Rejected` ("public port held by grant …") from the regional server, which the
  // executor treats as permanent: the new grant is compensated to revoked(failed) at once.
  // Correct: removal jobs still remove (best effort) the artifacts of a force-revoked grant,
  // and an open refused because the port is held by a non-live grant is retryable (or the
  // executor closes the stale occupant first).
  it.effect("forceRevoke: the next grant on the freed port is provisioned", () =>
    scenario(
      (clock) =>
        Effect.gen(function* () {
          const grants = yield* Grants
          const regional = yield* MemoryRegionalGatewayControl
          const devices = yield* MemoryDeviceGatewayControl
          const first = yield* grants.grant(admin, request)
          yield* drain(clock, 1)
          assert.strictEqual((yield* load(first.grant.id)).state, "active")
          yield* regional.setOffline(region.id, true)
          yield* devices.setOffline(device.id, true)
          yield* grants.revoke(admin, first.grant.id)
          yield* drain(clock, 2)
          yield* grants.forceRevoke(admin, first.grant.id, "targets unreachable")
          yield* regional.setOffline(region.id, false)
          yield* devices.setOffline(device.id, false)
          const second = yield* grants.grant(admin, request)
          assert.strictEqual(second.grant.endpoint.port, first.grant.endpoint.port, "precondition: the freed port is reused")
          yield* drain(clock, 8)
          const final = yield* load(second.grant.id)
          assert.strictEqual(final.revokeReason, null, `second grant revoked as ${final.revokeReason}`)
          assert.strictEqual(final.state, "active")
        }),
      { region: { ...region, portRange: { from: 30000, to: 30000 } } }
    )
  )

  // FINDING 4 (medium): the regional fence assumes the server's recorded revision never
  // exceeds the store's region revision. When it does (the embedded in-memory store restarted
  // while an iptables agent kept its revision; a store restored from a backup; two
  // deployments sharing an agent), every open and close gets `StaleRevision`; `refence` bumps
  // the grant by one revision per round (4 per attempt), so the region is wedged for
  // ~gap/4 attempts: new grants are compensated as failed, revokes go `revokeStuck`, and the
  // reconciler (snapshot.revision) is refused too.
  // Correct: on StaleRevision the executor reads `RegionalGateway.revision` and has the store
  // advance the region's revision past it (needs a GrantStore operation), then retries.
  it.effect("regional fence: a server revision ahead of the store does not wedge the region", () =>
    scenario((clock) =>
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        // The server remembers a revision from before the store lost its state.
        yield* gateway.close(region, { grantId: "ga_previous" as GrantId, publicPort: 30009 }, 1_000)
        const { grant } = yield* (yield* Grants).grant(admin, request)
        yield* drain(clock, 8)
        const final = yield* load(grant.id)
        assert.strictEqual(final.revokeReason, null, `revoked as ${final.revokeReason}`)
        assert.strictEqual(final.state, "active")
      })
    )
  )
})

describe("review: Engine.layer settings", () => {
  // FINDING 5 (high for Effect users, and it weakens the model test): `Facade.layer` feeds
  // `EngineConfig` to layer construction only (`Layer.provide`), but every saga reads
  // `EngineConfig` at run time (`Grants.grant`, `JobRunner.handle`, `relayOnce`, …), where it
  // falls back to the defaults. A lowered `maxTtlMs` (or a stricter `minPrefixV4`) given to
  // `Facade.layer` is silently ignored: a 2 h grant is accepted under a 1 h limit. The model
  // test (`ModelTest.ts` passes `settings` to `Facade.layer`) and Saga.test.ts therefore run
  // with the defaults, not the provisionAttempts / stuckAfterAttempts / republishAfterMs they
  // configure. (`createTransientAccess` is unaffected for its own calls: it provides the
  // settings on every `run`, but not to users of its exposed `runtime`.)
  // Correct: the settings given to `Facade.layer` are the ones in force at run time
  // (`Layer.provideMerge` the EngineConfig layer and add `EngineConfig` to `Services`).
  it.effect("a maxTtlMs lowered through Engine.layer is enforced", () =>
    Effect.gen(function* () {
      const sdk = yield* harness({ settings: { maxTtlMs: 60 * 60_000 } })
      const result = yield* Grants.use((grants) => grants.grant(admin, { ...request, ttlSeconds: 2 * 3600 })).pipe(
        Effect.flip,
        Effect.provide(sdk),
        Effect.option
      )
      assert.isTrue(Option.isSome(result) && result.value instanceof InvalidRequest, "a 2 h grant was accepted under a 1 h maxTtlMs")
    })
  )

  it.effect("the settings given to Engine.layer are in force at run time", () =>
    Effect.gen(function* () {
      const sdk = yield* harness({ settings: { provisionAttempts: 6, stuckAfterAttempts: 4 } })
      const inForce = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* EngineConfig.EngineConfig
        }),
        sdk
      )
      assert.strictEqual(inForce.provisionAttempts, 6)
      assert.strictEqual(inForce.stuckAfterAttempts, 4)
    })
  )
})

/**
 * Revokes a grant once, from inside a device call made under its row lock: the revoke waits
 * for the lock held around that call, then commits before the executor takes the lock again
 * for the enable. Set `revokeContext.current` to the engine's `Grants` first.
 */
const makeRevokeBetween = () => {
  const hook = { fired: false }
  const revokeContext: { current: Layer.Layer<Grants> | undefined } = { current: undefined }
  const revokeOnce = (grantId: GrantId) =>
    Effect.suspend(() => {
      if (hook.fired) return Effect.void
      hook.fired = true
      return Effect.forkDetach(Grants.use((grants) => grants.revoke(admin, grantId)).pipe(Effect.provide(revokeContext.current!))).pipe(
        Effect.andThen(Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow, { discard: true }))
      )
    })
  return { revokeContext, revokeOnce }
}

describe("review: subtle behaviour verified correct", () => {
  it.effect(
    "a nat.open paused between its check and its action, resumed after the revoke's close, is refused by the region revision",
    () => {
      const reached = Deferred.makeUnsafe<void>()
      const gate = Deferred.makeUnsafe<void>()
      return scenario((clock) =>
        Effect.gen(function* () {
          const grants = yield* Grants
          const regional = yield* MemoryRegionalGatewayControl
          const { grant } = yield* grants.grant(admin, request)
          const open = jobFor("nat.open", grant, clock.now())
          const paused = yield* Effect.forkChild(
            execute(open).pipe(
              Effect.provideService(ExecutorFaults, {
                fencing: true,
                idempotentRemove: true,
                beforeAct: () => Deferred.succeed(reached, undefined).pipe(Effect.andThen(Deferred.await(gate)))
              })
            )
          )
          yield* Deferred.await(reached)
          yield* grants.revoke(admin, grant.id)
          yield* drain(clock, 3)
          assert.strictEqual((yield* load(grant.id)).state, "revoked")
          yield* Deferred.succeed(gate, undefined)
          const outcome = yield* Fiber.join(paused)
          assert.strictEqual(outcome._tag, "Done")
          assert.isFalse(
            (yield* regional.paths(region.id)).some((path) => path.grantId === grant.id),
            "no path landed"
          )
          const opens = (yield* regional.history).filter((change) => change.op === "open" && change.grantId === grant.id)
          assert.deepStrictEqual(opens, [], "no open was applied for the revoked grant")
        })
      )
    }
  )

  it.effect("a revoke that lands between the disabled create and the enable leaves the user disabled, then removed", () => {
    const { revokeContext, revokeOnce } = makeRevokeBetween()
    const wrap = (inner: DeviceGateway["Service"]): DeviceGateway["Service"] => ({
      ...inner,
      createUser: (target, spec) => inner.createUser(target, spec).pipe(Effect.tap(() => revokeOnce(spec.grantId)))
    })
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          const grants = yield* Grants
          revokeContext.current = Layer.succeed(Grants, grants)
          const devices = yield* MemoryDeviceGatewayControl
          const { grant } = yield* grants.grant(admin, request)
          yield* drain(clock, 1)
          const enables = (yield* devices.history).filter((change) => change.op === "user.enable" && change.username === grant.username)
          assert.deepStrictEqual(enables, [], "the enable was never applied")
          yield* drain(clock, 3)
          const final = yield* load(grant.id)
          assert.strictEqual(final.state, "revoked")
          assert.isUndefined(yield* userOf(grant))
        }),
      { device: wrap }
    )
  })

  it.effect("forwards: a revoke that lands between the disabled open and the enable leaves the forward disabled, then closed", () => {
    const { revokeContext, revokeOnce } = makeRevokeBetween()
    const wrap = (inner: DeviceGateway["Service"]): DeviceGateway["Service"] => ({
      ...inner,
      openForward: (target, forward) => inner.openForward(target, forward).pipe(Effect.tap(() => revokeOnce(forward.grantId)))
    })
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          const grants = yield* Grants
          revokeContext.current = Layer.succeed(Grants, grants)
          const devices = yield* MemoryDeviceGatewayControl
          const { grant } = yield* grants.grant(admin, forwardRequest)
          yield* drain(clock, 1)
          const changes = (yield* devices.history).filter((change) => change.grantId === grant.id).map((change) => change.op)
          assert.include(changes, "forward.open")
          assert.notInclude(changes, "forward.enable", "the enable was never applied")
          yield* drain(clock, 3)
          assert.strictEqual((yield* load(grant.id)).state, "revoked")
          assert.deepStrictEqual(yield* devices.forwards(device.id), [])
        }),
      { device: wrap }
    )
  })

  it.effect("forwards: an open delayed in the network that lands after the revoke stays disabled and is reconciled away", () => {
    const held: Array<Effect.Effect<void, unknown>> = []
    const wrap = (inner: DeviceGateway["Service"]): DeviceGateway["Service"] => ({
      ...inner,
      openForward: (target, forward) =>
        Effect.suspend(() => {
          if (held.length > 0) return inner.openForward(target, forward)
          held.push(inner.openForward(target, forward))
          return Effect.fail(new DeviceGatewayError({ reason: "Timeout", message: "no answer in time", target: target.id }))
        })
    })
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          const grants = yield* Grants
          const devices = yield* MemoryDeviceGatewayControl
          const { grant } = yield* grants.grant(admin, forwardRequest)
          yield* relayOnce()
          yield* runOnce({ consumer: "review", max: 16 })
          yield* grants.revoke(admin, grant.id)
          yield* drain(clock, 3)
          assert.strictEqual((yield* load(grant.id)).state, "revoked")
          for (const landing of held) yield* Effect.ignore(landing)
          assert.deepStrictEqual(
            (yield* devices.forwards(device.id)).map((forward) => [forward.grantId, forward.disabled]),
            [[grant.id, true]]
          )
          yield* reconcileDevice(device)
          assert.deepStrictEqual(yield* devices.forwards(device.id), [])
        }),
      { device: wrap }
    )
  })

  // The regional counterpart of finding 1 is safe: the reconciler's close carries the
  // revision of its (older) snapshot, and the path of a grant created after that snapshot
  // was opened with a newer revision, so the server refuses the close.
  it.effect("reconciler: a path opened after the reconciler's snapshot is not closed (the region revision refuses it)", () => {
    const { hold, during } = makeHold()
    const wrap = (inner: RegionalGateway["Service"]): RegionalGateway["Service"] => ({
      ...inner,
      list: (target) => hold(inner.list(target))
    })
    return scenario(
      (clock) =>
        Effect.gen(function* () {
          const [report, grant] = yield* during(reconcileRegion(region), provisionOne(clock))
          assert.strictEqual(report.closed, 0)
          const paths = yield* (yield* MemoryRegionalGatewayControl).paths(region.id)
          assert.isTrue(
            paths.some((path) => path.grantId === grant.id),
            "the live grant's path stays"
          )
        }),
      { regional: wrap }
    )
  })
})
