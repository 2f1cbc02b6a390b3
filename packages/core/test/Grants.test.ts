import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import * as Credentials from "../src/Credentials.ts"
import { InvalidRequest, PortsExhausted } from "../src/Errors.ts"
import { Grants } from "../src/Grants.ts"
import type { GrantResult } from "../src/Grants.ts"
import { GrantStore, IdempotencyConflict } from "../src/GrantStore.ts"
import * as Engine from "../src/Engine.ts"
import type { ActorId, DeviceId, RegionId } from "../src/Ids.ts"
import { JobQueue } from "../src/JobQueue.ts"
import { runOnce } from "../src/JobRunner.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import { relayOnce } from "../src/OutboxRelay.ts"
import type * as Policy from "../src/Policy.ts"
import { PolicyDenied } from "../src/Policy.ts"
import type { Device, Region } from "../src/Topology.ts"

const region: Region = {
  id: "eu" as RegionId,
  endpointHost: "access.example.net",
  portRange: { from: 30000, to: 30002 },
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
const viewer: Policy.Actor = { id: "victor" as ActorId, roles: ["viewer"] }

const TestLayer = Engine.layer({
  regional: MemoryRegionalGateway.layer,
  device: MemoryDeviceGateway.layer,
  devices: [device],
  regions: [region]
}).pipe(Layer.provideMerge(MemoryRegionalGateway.layer), Layer.provideMerge(MemoryDeviceGateway.layer))

const request = { deviceId: "router-1", accessType: "ssh", permission: "read-only", source: "198.51.100.7", ttlSeconds: 3600 }

const drain = Effect.gen(function* () {
  yield* relayOnce()
  while ((yield* runOnce({ consumer: "test", max: 16 })) > 0) yield* relayOnce()
}).pipe(Effect.provideService(References.MinimumLogLevel, "None"))

describe("Grants", () => {
  it.effect("grant returns credentials once and provisions both targets", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const result: GrantResult = yield* grants.grant(admin, request)
      assert.strictEqual(result.grant.state, "pending")
      assert.strictEqual(result.grant.source, "198.51.100.7/32")
      assert.isTrue(Credentials.isValidUsername(result.grant.username))
      assert.isNotNull(result.credentials)
      assert.isTrue(Credentials.isValidPassword(Redacted.value(result.credentials!.password)))
      assert.include(result.credentials!.sshCommand ?? "", `-p ${result.grant.endpoint.port}`)
      assert.notInclude(JSON.stringify(result), Redacted.value(result.credentials!.password))
      yield* drain
      const active = yield* grants.get(admin, result.grant.id)
      assert.strictEqual(active.state, "active")
      assert.isTrue(active.progress.natOpen && active.progress.deviceReady)
      const store = yield* GrantStore
      assert.isTrue((yield* store.readDeviceSecret(result.grant.id))._tag === "None", "device copy wiped after confirmation")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("revoke removes both artifacts, confirms by listing, and frees the port", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const { grant } = yield* grants.grant(admin, request)
      yield* drain
      const revoking = yield* grants.revoke(admin, grant.id)
      assert.strictEqual(revoking.state, "revoking")
      assert.strictEqual(revoking.revokeReason, "manual")
      yield* drain
      const revoked = yield* grants.get(admin, grant.id)
      assert.strictEqual(revoked.state, "revoked")
      const store = yield* GrantStore
      assert.deepStrictEqual(yield* store.heldPorts(region.id, 0), [])
      const again = yield* grants.revoke(admin, grant.id)
      assert.strictEqual(again.state, "revoked", "revoke is idempotent")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("bad input is refused whole and writes nothing", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const store = yield* GrantStore
      const cases: ReadonlyArray<[unknown, string | null]> = [
        [{ ...request, ttlSeconds: 25 * 3600 }, "ttlSeconds"],
        [{ ...request, ttlSeconds: 0 }, "ttlSeconds"],
        [{ ...request, ttlSeconds: 30 }, "ttlSeconds"],
        [{ ...request, source: "0.0.0.0/0" }, "source"],
        [{ ...request, source: "010.0.0.1" }, "source"],
        [{ ...request, source: "::ffff:1.2.3.4" }, "source"],
        [{ ...request, source: "10.0.0.1/8" }, "source"],
        [{ ...request, accessType: "telnet" }, "accessType"],
        [{ ...request, deviceId: "a b" }, "deviceId"],
        ["not an object", null]
      ]
      for (const [body, field] of cases) {
        const error = yield* Effect.flip(grants.grant(admin, body))
        assert.instanceOf(error, InvalidRequest, JSON.stringify(body))
        if (field !== null) assert.strictEqual((error as InvalidRequest).field, field, JSON.stringify(body))
      }
      assert.strictEqual((yield* store.list({})).length, 0)
      assert.strictEqual((yield* store.takeOutbox({ limit: 10, republishAfterMs: 0 })).length, 0)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("control characters in free text are refused at the schema, and nothing is written", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const store = yield* GrantStore
      for (const label of ["a\u0000b", "tab\there", "line\nbreak", "del\u007f", "c1\u0085"]) {
        const error = yield* Effect.flip(grants.grant(admin, { ...request, label }))
        assert.instanceOf(error, InvalidRequest, JSON.stringify(label))
        assert.strictEqual((error as InvalidRequest).field, "label", JSON.stringify(label))
      }
      assert.strictEqual((yield* store.stats).outboxPending, 0)
      const { grant } = yield* grants.grant(admin, { ...request, label: "a label with ünïcode, spaces and emoji 🚀" })
      const note = yield* Effect.flip(grants.forceRevoke(admin, grant.id, "stuck\u0000"))
      assert.instanceOf(note, InvalidRequest)
      assert.strictEqual((note as InvalidRequest).field, "note")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("the source defaults to the caller's address", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const { source: _source, ...withoutSource } = request
      const result = yield* grants.grant(admin, withoutSource, { callerAddress: "192.0.2.7" })
      assert.strictEqual(result.grant.source, "192.0.2.7/32")
      const missing = yield* Effect.flip(grants.grant(admin, withoutSource))
      assert.instanceOf(missing, InvalidRequest)
      // the device is reached over IPv4: an IPv6 caller could never match its NAT path
      const otherFamily = yield* Effect.flip(grants.grant(admin, withoutSource, { callerAddress: "2001:db8::7" }))
      assert.instanceOf(otherFamily, InvalidRequest)
      assert.strictEqual((otherFamily as InvalidRequest).field, "source")
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("a full range fails with PortsExhausted; a freed port is reused", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const first = yield* grants.grant(admin, request)
      yield* grants.grant(admin, request)
      yield* grants.grant(admin, request)
      const error = yield* Effect.flip(grants.grant(admin, request))
      assert.instanceOf(error, PortsExhausted)
      yield* grants.revoke(admin, first.grant.id)
      yield* drain
      const again = yield* grants.grant(admin, request)
      assert.strictEqual(again.grant.endpoint.port, first.grant.endpoint.port)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("idempotency keys replay the same grant and refuse another body", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const first = yield* grants.grant(admin, request, { idempotencyKey: "k1" })
      const replay = yield* grants.grant(admin, request, { idempotencyKey: "k1" })
      assert.isTrue(replay.replayed)
      assert.isNull(replay.credentials)
      assert.strictEqual(replay.grant.id, first.grant.id)
      const conflict = yield* Effect.flip(grants.grant(admin, { ...request, permission: "full" }, { idempotencyKey: "k1" }))
      assert.instanceOf(conflict, IdempotencyConflict)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("the role policy limits viewers to read-only access and their own grants", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const denied = yield* Effect.flip(grants.grant(viewer, { ...request, permission: "full" }))
      assert.instanceOf(denied, PolicyDenied)
      const own = yield* grants.grant(viewer, request)
      const other = yield* grants.grant(admin, request)
      assert.strictEqual((yield* grants.get(viewer, own.grant.id)).id, own.grant.id)
      assert.instanceOf(yield* Effect.flip(grants.revoke(viewer, other.grant.id)), PolicyDenied)
      const visible = yield* grants.list(viewer, {})
      assert.deepStrictEqual(
        visible.map((grant) => grant.id),
        [own.grant.id]
      )
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("no secret ever enters the queue", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const result = yield* grants.grant(admin, request)
      const password = Redacted.value(result.credentials!.password)
      const store = yield* GrantStore
      const entries = yield* store.takeOutbox({ limit: 10, republishAfterMs: 0 })
      assert.strictEqual(entries.length, 2)
      for (const entry of entries) assert.notInclude(JSON.stringify(entry.job), password)
      const queue = yield* JobQueue
      yield* queue.publish(entries.map((entry) => entry.job))
      const deliveries = yield* queue.poll({ consumer: "x", max: 10 })
      for (const delivery of deliveries) assert.notInclude(JSON.stringify(delivery.job), password)
    }).pipe(Effect.provide(TestLayer))
  )

  it.effect("port-forward grants open a forward on the device instead of a user", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const result = yield* grants.grant(admin, {
        ...request,
        kind: "port-forward",
        forward: { address: "192.168.88.10", port: 443 }
      })
      assert.isNull(result.credentials)
      yield* drain
      const active = yield* grants.get(admin, result.grant.id)
      assert.strictEqual(active.state, "active")
      yield* grants.revoke(admin, result.grant.id)
      yield* drain
      assert.strictEqual((yield* grants.get(admin, result.grant.id)).state, "revoked")
    }).pipe(Effect.provide(TestLayer))
  )
})
