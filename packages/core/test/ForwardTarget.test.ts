/**
 * Where a port forward may point. Properties against a bit-level reference written here:
 * with LANs in private space, a target is accepted exactly when it is a host of one of the
 * device's LANs other than the router's own addresses and the network and broadcast
 * addresses of the LANs that hold it; whatever the LANs, nothing loopback, multicast, link-local, unspecified or
 * broadcast is ever accepted. A table of the named classes then goes through `Grants`:
 * each is refused with its rule and nothing is written (no grant, no job).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as Engine from "../src/Engine.ts"
import * as ForwardTarget from "../src/ForwardTarget.ts"
import { Grants } from "../src/Grants.ts"
import { GrantStore } from "../src/GrantStore.ts"
import type { ActorId, DeviceId, RegionId } from "../src/Ids.ts"
import type * as Policy from "../src/Policy.ts"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import type { Device, Region } from "../src/Topology.ts"

const region: Region = {
  id: "eu" as RegionId,
  endpointHost: "access.example.net",
  portRange: { from: 30000, to: 30099 },
  tunnelAddress: "10.8.0.1",
  tunnelNetwork: "10.8.0.0/24" as NonNullable<Region["tunnelNetwork"]>
}
const device = (lanAddresses: ReadonlyArray<string>): Device => ({
  id: "router-1" as DeviceId,
  regionId: region.id,
  tunnelAddress: "10.8.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push",
  lanAddresses
})

// ---- the reference: 32-bit arithmetic on numbers ------------------------------------
const text = (value: number) => [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".")
const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)
const within = (value: number, network: number, prefix: number) => (value & mask(prefix)) >>> 0 === network
interface Lan {
  readonly router: number
  readonly prefix: number
}
const networkOf = (lan: Lan) => (lan.router & mask(lan.prefix)) >>> 0
const broadcastOf = (lan: Lan) => (networkOf(lan) | (~mask(lan.prefix) >>> 0)) >>> 0
const forbidden: ReadonlyArray<readonly [number, number]> = [
  [0x7f000000, 8], // loopback
  [0xe0000000, 4], // multicast
  [0xa9fe0000, 16], // link-local
  [0x00000000, 32], // unspecified
  [0xffffffff, 32] // broadcast
]
const tunnel = [0x0a080001, 0x0a080002] // region's and device's tunnel addresses
const refAccepts = (candidate: number, lans: ReadonlyArray<Lan>) =>
  !within(candidate, 0x0a080000, 24) &&
  !tunnel.includes(candidate) &&
  lans.some((lan) => within(candidate, networkOf(lan), lan.prefix)) &&
  !lans.some((lan) => lan.router === candidate) &&
  // a LAN's network and broadcast addresses (IPv4, /30 and wider) are never hosts, in any LAN that holds them
  !lans.some(
    (lan) =>
      lan.prefix <= 30 && within(candidate, networkOf(lan), lan.prefix) && (candidate === networkOf(lan) || candidate === broadcastOf(lan))
  )

// ---- generators ---------------------------------------------------------------------
const privateBlocks: ReadonlyArray<readonly [number, number]> = [
  [0x0a000000, 8],
  [0xac100000, 12],
  [0xc0a80000, 16]
]
const privateLan: fc.Arbitrary<Lan> = fc
  .tuple(fc.constantFrom(...privateBlocks), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 16, max: 32 }))
  .map(([[block, blockPrefix], random, prefix]) => ({
    router: ((block | (random & ~mask(blockPrefix))) >>> 0) as number,
    prefix: Math.max(prefix, blockPrefix)
  }))
const anyLan: fc.Arbitrary<Lan> = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 32 }))
  .map(([router, prefix]) => ({ router: router >>> 0, prefix }))
/** A candidate: half the time a host near one of the LANs, else anywhere. */
const candidateFor = (lans: ReadonlyArray<Lan>) =>
  fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }).map((value) => value >>> 0),
    fc.tuple(fc.integer({ min: 0, max: lans.length - 1 }), fc.integer({ min: 0, max: 0xffffffff })).map(([index, random]) => {
      const lan = lans[index]!
      return (networkOf(lan) | (random & ~mask(lan.prefix))) >>> 0
    }),
    fc.constantFrom(...lans.map((lan) => lan.router), ...lans.map(networkOf), ...lans.map(broadcastOf))
  )
const lanText = (lan: Lan) => `${text(lan.router)}/${lan.prefix}`
const accepted = (candidate: number, lans: ReadonlyArray<Lan>, allowance?: ForwardTarget.Allowance) =>
  Result.isSuccess(ForwardTarget.check(text(candidate), device(lans.map(lanText)), region, allowance))

describe("ForwardTarget", () => {
  it("with private LANs: accepted exactly when a host of a LAN other than the router, the network and the broadcast address", () => {
    fc.assert(
      fc.property(
        fc.array(privateLan, { minLength: 1, maxLength: 3 }).chain((lans) => fc.tuple(fc.constant(lans), candidateFor(lans))),
        ([lans, candidate]) => {
          assert.strictEqual(
            accepted(candidate, lans),
            refAccepts(candidate, lans),
            `${text(candidate)} with ${lans.map(lanText).join(", ")}`
          )
        }
      ),
      { numRuns: Number(process.env["TA_FORWARD_RUNS"] ?? 2000) }
    )
  })

  it("whatever the LANs (even public or special space), nothing forbidden and nothing outside them is accepted", () => {
    fc.assert(
      fc.property(
        fc.array(anyLan, { minLength: 1, maxLength: 3 }).chain((lans) => fc.tuple(fc.constant(lans), candidateFor(lans), fc.boolean())),
        ([lans, candidate, allowPublic]) => {
          if (!accepted(candidate, lans, { extraPrefixes: [], allowPublic })) return
          assert.isFalse(
            forbidden.some(([network, prefix]) => within(candidate, network, prefix)),
            `${text(candidate)} is in a forbidden block`
          )
          assert.isTrue(
            lans.some((lan) => within(candidate, networkOf(lan), lan.prefix)),
            `${text(candidate)} is outside ${lans.map(lanText).join(", ")}`
          )
        }
      ),
      { numRuns: Number(process.env["TA_FORWARD_RUNS"] ?? 2000) }
    )
  })

  it("an IPv6 device: targets of its LAN are accepted, IPv4 ones and ::1 are not", () => {
    const v6: Device = { ...device(["2001:db8:5::1/64"]), tunnelAddress: "fd00:8::2" }
    const v6Region: Region = { ...region, tunnelAddress: "fd00:8::1" }
    assert.isTrue(Result.isSuccess(ForwardTarget.check("2001:db8:5::10", v6, v6Region)))
    for (const [address, rule] of [
      ["192.168.88.10", "FamilyMismatch"],
      ["::1", "Loopback"],
      ["fe80::1", "LinkLocal"],
      ["ff02::1", "Multicast"],
      ["2001:db8:5::1", "RouterAddress"],
      ["2001:db8:6::1", "NotInLan"]
    ] as const) {
      const result = ForwardTarget.check(address, v6, v6Region)
      assert.isTrue(Result.isFailure(result) && result.failure.rule === rule, `${address}: ${rule}`)
    }
  })

  it("public targets need the policy's allowance; extra prefixes come from the policy", () => {
    const lan = device(["192.168.88.1/24"])
    const refused = ForwardTarget.check("203.0.114.10", lan, region)
    assert.isTrue(Result.isFailure(refused) && refused.failure.rule === "NotInLan")
    const allowance = { extraPrefixes: ["8.8.8.0/24"], allowPublic: true }
    assert.isTrue(Result.isSuccess(ForwardTarget.check("8.8.8.8", lan, region, allowance)))
    const notPublic = ForwardTarget.check("8.8.8.8", lan, region, { extraPrefixes: ["8.8.8.0/24"], allowPublic: false })
    assert.isTrue(Result.isFailure(notPublic) && notPublic.failure.rule === "Public")
    const publicLan = ForwardTarget.check("8.8.8.8", device(["8.8.8.1/24"]), region)
    assert.isTrue(Result.isFailure(publicLan) && publicLan.failure.rule === "Public")
  })
})

const admin: Policy.Actor = { id: "alice" as ActorId, roles: ["admin"] }
const EngineLayer = Engine.layer({
  regional: MemoryRegionalGateway.layer,
  device: MemoryDeviceGateway.layer,
  devices: [device(["192.168.88.1/24"])],
  regions: [region]
})

describe("port-forward targets through Grants", () => {
  const cases: ReadonlyArray<readonly [string, ForwardTarget.Rule]> = [
    ["8.8.8.8", "NotInLan"],
    ["0.0.0.0", "Unspecified"],
    ["255.255.255.255", "Broadcast"],
    ["127.0.0.1", "Loopback"],
    ["169.254.169.254", "LinkLocal"],
    ["224.0.0.251", "Multicast"],
    ["::1", "FamilyMismatch"],
    ["192.168.88.1", "RouterAddress"],
    ["10.8.0.2", "RouterAddress"],
    ["10.8.0.77", "TunnelNetwork"],
    ["192.168.88.0", "Broadcast"],
    ["192.168.88.255", "Broadcast"],
    ["192.168.088.10", "Unparsable"]
  ]
  it.effect("each named class is refused with its rule, and nothing is written", () =>
    Effect.gen(function* () {
      const grants = yield* Grants
      const store = yield* GrantStore
      for (const [address, rule] of cases) {
        const error = yield* Effect.flip(
          grants.grant(admin, {
            deviceId: "router-1",
            kind: "port-forward",
            accessType: "ssh",
            permission: "full",
            source: "198.51.100.7",
            ttlSeconds: 600,
            forward: { address, port: 443 }
          })
        )
        assert.instanceOf(error, ForwardTarget.ForwardTargetRefused, address)
        assert.strictEqual((error as ForwardTarget.ForwardTargetRefused).rule, rule, address)
      }
      const stats = yield* store.stats
      assert.strictEqual(
        Object.values(stats.grantsByState).reduce((sum, count) => sum + count, 0),
        0
      )
      assert.strictEqual(stats.outboxPending, 0)
      const ok = yield* grants.grant(admin, {
        deviceId: "router-1",
        kind: "port-forward",
        accessType: "ssh",
        permission: "full",
        source: "198.51.100.7",
        ttlSeconds: 600,
        forward: { address: "192.168.88.10", port: 443 }
      })
      assert.deepStrictEqual(ok.grant.forward, { address: "192.168.88.10", port: 443 })
    }).pipe(Effect.provide(EngineLayer))
  )
})
