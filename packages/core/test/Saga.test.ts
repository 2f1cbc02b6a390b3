import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { TestClock } from "effect/testing"
import { AuditLog } from "../src/AuditLog.ts"
import { DeviceGateway } from "../src/DeviceGateway.ts"
import { GrantStateConflict } from "../src/Errors.ts"
import { sweepOnce } from "../src/ExpirySweep.ts"
import * as Engine from "../src/Engine.ts"
import * as Facade from "../src/Facade.ts"
import { Grants } from "../src/Grants.ts"
import { GrantStore } from "../src/GrantStore.ts"
import type { ActorId, DeviceId, GrantId, RegionId } from "../src/Ids.ts"
import { runOnce } from "../src/JobRunner.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import { MemoryDeviceGatewayControl } from "../src/testing/MemoryDeviceGateway.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import { MemoryRegionalGatewayControl } from "../src/testing/MemoryRegionalGateway.ts"
import { relayOnce } from "../src/OutboxRelay.ts"
import type * as Policy from "../src/Policy.ts"
import { reconcileOnce } from "../src/Reconciler.ts"
import { RegionalGateway } from "../src/RegionalGateway.ts"
import type { Device, Region } from "../src/Topology.ts"

const region: Region = {
  id: "eu" as RegionId,
  endpointHost: "access.example.net",
  portRange: { from: 30000, to: 30099 },
  tunnelAddress: "10.8.0.1"
}
const device: Device = {
  id: "router-1" as DeviceId,
  regionId: region.id,
  tunnelAddress: "10.8.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push"
}
const admin: Policy.Actor = { id: "alice" as ActorId, roles: ["admin"] }
const request = { deviceId: "router-1", accessType: "ssh", permission: "full", source: "198.51.100.0/24", ttlSeconds: 3600 }

const TestLayer = Engine.layer({
  regional: MemoryRegionalGateway.layer,
  device: MemoryDeviceGateway.layer,
  devices: [device],
  regions: [region],
  settings: { provisionAttempts: 3, stuckAfterAttempts: 3, retryBaseMs: 1000, retryMaxMs: 10_000 }
}).pipe(
  Layer.provideMerge(MemoryRegionalGateway.layer),
  Layer.provideMerge(MemoryDeviceGateway.layer),
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "None"))
)

/** Relay + run jobs + advance the test clock, `rounds` times. */
const drain = (rounds = 10) =>
  Effect.gen(function* () {
    for (let round = 0; round < rounds; round++) {
      yield* relayOnce()
      while ((yield* runOnce({ consumer: "test", max: 16 })) > 0) yield* relayOnce()
      yield* TestClock.adjust("30 seconds")
    }
  })

const state = (grantId: GrantId) => GrantStore.use((store) => store.get(grantId)).pipe(Effect.map((found) => Option.getOrThrow(found)))

describe("saga failure paths", () => {
  it.effect("a device that rejects the user: provisioning fails, the grant is compensated to revoked(failed)", () =>
    Effect.gen(function* () {
      const control = yield* MemoryDeviceGatewayControl
      yield* control.failNext(device.id, 1, "Rejected")
      const { grant } = yield* (yield* Grants).grant(admin, request)
      yield* drain(3)
      const final = yield* state(grant.id)
      assert.strictEqual(final.state, "revoked")
      assert.strictEqual(final.revokeReason, "failed")
      const paths = yield* (yield* MemoryRegionalGatewayControl).paths(region.id)
      assert.isFalse(
        paths.some((path) => path.grantId === grant.id),
        "the NAT path was removed too"
      )
      const events = yield* (yield* AuditLog).list({ grantId: grant.id })
      assert.isTrue(events.some((event) => event.action === "grant.provision-failed"))
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("a regional server that refuses a path fails that grant at once; the region's next grant goes through", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const regional = yield* MemoryRegionalGatewayControl
      yield* regional.failNext(region.id, 1, "Rejected")
      const { grant: refused } = yield* grants.grant(admin, request)
      const { grant: next } = yield* grants.grant(admin, request)
      // one pass of the runner, no clock advance: no retry delay may stand between them
      yield* relayOnce()
      while ((yield* runOnce({ consumer: "test", max: 16 })) > 0) yield* relayOnce()
      const failedGrant = yield* state(refused.id)
      assert.notStrictEqual(failedGrant.state, "active")
      assert.strictEqual(failedGrant.revokeReason, "failed", "compensated at once, not retried")
      assert.strictEqual((yield* state(next.id)).state, "active", "the other grant on the region was not held up")
      const events = yield* (yield* AuditLog).list({ grantId: refused.id })
      assert.isTrue(events.some((event) => event.action === "grant.provision-failed"))
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("a refusal because another grant's path still holds the port is retried, not failed", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const gateway = yield* RegionalGateway
      const { grant } = yield* grants.grant(admin, request)
      // a stale path of another grant on the same port (as a force-revoked grant's can be)
      yield* gateway.open(
        region,
        {
          grantId: "ga_stalepath" as GrantId,
          regionId: region.id,
          publicPort: grant.endpoint.port,
          source: grant.source,
          target: grant.target,
          stopAt: grant.expiresAt
        },
        0
      )
      yield* relayOnce()
      yield* runOnce({ consumer: "test", max: 16 })
      assert.strictEqual((yield* state(grant.id)).state, "pending", "retried while the port is held")
      yield* gateway.close(region, { grantId: "ga_stalepath" as GrantId, publicPort: grant.endpoint.port }, 0)
      yield* drain(3)
      assert.strictEqual((yield* state(grant.id)).state, "active")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("a revoke that keeps failing is flagged revokeStuck, retried, and completes when the device returns", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const control = yield* MemoryDeviceGatewayControl
      const { grant } = yield* grants.grant(admin, request)
      yield* drain(2)
      assert.strictEqual((yield* state(grant.id)).state, "active")
      yield* control.setOffline(device.id, true)
      yield* grants.revoke(admin, grant.id)
      yield* drain(20)
      const stuck = yield* state(grant.id)
      assert.strictEqual(stuck.state, "revoking")
      assert.isTrue(stuck.progress.revokeStuck)
      assert.isTrue(stuck.progress.natGone, "the regional side is already gone")
      assert.strictEqual((yield* (yield* GrantStore).stats).revokeStuck, 1)
      const events = yield* (yield* AuditLog).list({ grantId: grant.id })
      assert.isTrue(events.some((event) => event.action === "grant.revoke-stuck"))
      yield* control.setOffline(device.id, false)
      yield* TestClock.adjust("10 minutes")
      yield* drain(5)
      assert.strictEqual((yield* state(grant.id)).state, "revoked")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("forceRevoke: only for revoking grants, audited", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const control = yield* MemoryDeviceGatewayControl
      const { grant } = yield* grants.grant(admin, request)
      yield* drain(2)
      const refused = yield* Effect.flip(grants.forceRevoke(admin, grant.id, "device decommissioned"))
      assert.instanceOf(refused, GrantStateConflict)
      yield* control.setOffline(device.id, true)
      yield* grants.revoke(admin, grant.id)
      const forced = yield* grants.forceRevoke(admin, grant.id, "device decommissioned")
      assert.strictEqual(forced.state, "revoked")
      assert.strictEqual(forced.revokeReason, "forced")
      const events = yield* (yield* AuditLog).list({ grantId: grant.id })
      assert.isTrue(events.some((event) => event.action === "grant.force-revoke" && event.details.note === "device decommissioned"))
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("expiry: the sweep revokes expired grants as expired; nothing remains", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const { grant } = yield* grants.grant(admin, { ...request, ttlSeconds: 120 })
      yield* drain(1)
      assert.strictEqual(yield* sweepOnce(), 0)
      yield* TestClock.adjust("3 minutes")
      assert.strictEqual(yield* sweepOnce(), 1)
      const revoking = yield* state(grant.id)
      assert.strictEqual(revoking.state, "revoking")
      assert.strictEqual(revoking.revokeReason, "expired")
      yield* drain(2)
      assert.strictEqual((yield* state(grant.id)).state, "revoked")
      const users = yield* (yield* MemoryDeviceGatewayControl).users(device.id)
      assert.strictEqual(users.length, 0)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("the reconciler removes orphans, re-opens a lost path, and finishes a revoke whose jobs were lost", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const regional = yield* RegionalGateway
      const deviceGateway = yield* DeviceGateway
      const { grant } = yield* grants.grant(admin, request)
      yield* drain(1)
      const { revision } = yield* (yield* GrantStore).regionSnapshot(region.id)
      // Orphans: a path and a user for grants the store does not know.
      yield* regional.open(
        region,
        {
          grantId: "ga_orphan" as GrantId,
          regionId: region.id,
          publicPort: 30098,
          source: "198.51.100.0/24",
          target: { address: device.tunnelAddress, port: 22 },
          stopAt: Date.now() + 3_600_000
        },
        revision
      )
      yield* deviceGateway.createUser(device, {
        grantId: "ga_orphan" as GrantId,
        username: "ta-orphan0000",
        password: Redacted.make("x"),
        permission: "full",
        allowedAddress: region.tunnelAddress,
        expiresAt: Date.now() + 3_600_000
      })
      // A lost path of a live grant (e.g. the server rebooted).
      yield* regional.close(region, { grantId: grant.id, publicPort: grant.endpoint.port }, revision)
      const report = yield* reconcileOnce()
      assert.strictEqual(report.pathsClosed, 1)
      assert.strictEqual(report.usersRemoved, 1)
      assert.strictEqual(report.pathsReopened, 1)
      // A revoke whose jobs are never delivered: the reconciler alone completes it.
      const other = yield* grants.grant(admin, request)
      yield* drain(1)
      yield* grants.revoke(admin, other.grant.id)
      const second = yield* reconcileOnce()
      assert.strictEqual(second.confirmedGone, 2)
      assert.strictEqual((yield* state(other.grant.id)).state, "revoked")
    }).pipe(Effect.provide(TestLayer))
  )
})

describe("facade", () => {
  it.live("grant → active → revoke → revoked with the background workers, errors are instanceof-able", () =>
    Effect.promise(async () => {
      const { InvalidRequest } = await import("../src/Errors.ts")
      const sdk = Facade.createTransientAccess({
        regional: MemoryRegionalGateway.layer,
        device: MemoryDeviceGateway.layer,
        devices: [device],
        regions: [region],
        settings: { relayIntervalMs: 10, sweepIntervalMs: 50 }
      })
      try {
        await sdk.start()
        const result = await sdk.grant({
          actor: admin,
          deviceId: "router-1",
          accessType: "winbox",
          permission: "read-only",
          callerAddress: "192.0.2.5",
          ttlSeconds: 600
        })
        assert.strictEqual(result.grant.source, "192.0.2.5/32")
        assert.strictEqual(Facade.revealPassword(result.credentials!).length, 24)
        const waitFor = async (wanted: string) => {
          for (let attempt = 0; attempt < 200; attempt++) {
            if ((await sdk.get(admin, result.grant.id)).state === wanted) return
            await new Promise((resolve) => setTimeout(resolve, 25))
          }
          assert.fail(`grant never became ${wanted}`)
        }
        await waitFor("active")
        await sdk.revoke(admin, result.grant.id)
        await waitFor("revoked")
        const error = await sdk
          .grant({ actor: admin, deviceId: "router-1", accessType: "ssh", permission: "full", source: "0.0.0.0/0", ttlSeconds: 600 })
          .catch((caught: unknown) => caught)
        assert.instanceOf(error, InvalidRequest)
        assert.strictEqual((await sdk.stats()).grantsByState.revoked, 1)
        assert.isAtLeast((await sdk.audit({ grantId: result.grant.id })).length, 2)
      } finally {
        await sdk.dispose()
      }
    })
  )

  it.live(
    "a slow device delays only its own jobs (no head-of-line blocking across targets)",
    () =>
      Effect.promise(async () => {
        const slow: Device = { ...device, id: "router-slow" as DeviceId, tunnelAddress: "10.8.0.3" }
        const slowLayer = Layer.effect(
          DeviceGateway,
          Effect.gen(function* () {
            const inner = yield* DeviceGateway
            return DeviceGateway.of({
              ...inner,
              createUser: (target, spec) =>
                target.id === slow.id
                  ? Effect.sleep("4 seconds").pipe(Effect.andThen(inner.createUser(target, spec)))
                  : inner.createUser(target, spec)
            })
          })
        ).pipe(Layer.provide(MemoryDeviceGateway.layer))
        const sdk = Facade.createTransientAccess({
          regional: MemoryRegionalGateway.layer,
          device: slowLayer,
          devices: [device, slow],
          regions: [region],
          settings: { relayIntervalMs: 10 }
        })
        try {
          await sdk.start()
          const base = { actor: admin, accessType: "ssh" as const, permission: "full" as const, source: "198.51.100.0/24", ttlSeconds: 600 }
          const slowGrant = await sdk.grant({ ...base, deviceId: slow.id })
          await new Promise((resolve) => setTimeout(resolve, 300))
          const fastGrant = await sdk.grant({ ...base, deviceId: device.id })
          let fastActive = false
          for (let attempt = 0; attempt < 60 && !fastActive; attempt++) {
            fastActive = (await sdk.get(admin, fastGrant.grant.id)).state === "active"
            if (!fastActive) await new Promise((resolve) => setTimeout(resolve, 25))
          }
          assert.isTrue(fastActive, "the fast device's grant became active while the slow device was still busy")
          assert.strictEqual((await sdk.get(admin, slowGrant.grant.id)).state, "pending")
        } finally {
          await sdk.dispose()
        }
      }),
    { timeout: 20_000 }
  )
})
