/**
 * The in-memory regional gateway: the shared contract suite, then its kernel model (stop
 * time for new and established flows, cut on close) under `TestClock`, and its faults.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestClock } from "effect/testing"
import type { GrantId, RegionId } from "../src/Ids.ts"
import * as MemoryRegionalGateway from "../src/testing/MemoryRegionalGateway.ts"
import { MemoryRegionalGatewayControl } from "../src/testing/MemoryRegionalGateway.ts"
import { RegionalGateway } from "../src/RegionalGateway.ts"
import type { NatPath } from "../src/RegionalGateway.ts"
import * as RegionalGatewaySuite from "../src/suites/RegionalGatewaySuite.ts"
import type { Region } from "../src/Topology.ts"

const region: Region = {
  id: "eu-1" as RegionId,
  endpointHost: "edge.example.net",
  portRange: { from: 40_000, to: 49_999 },
  tunnelAddress: "10.8.0.1"
}

RegionalGatewaySuite.suite("MemoryRegionalGateway", MemoryRegionalGateway.layer, {
  region,
  target: { address: "10.8.0.2", port: 22 },
  probe: {
    taggedGrantIds: (r) =>
      MemoryRegionalGatewayControl.use((control) => control.paths(r.id)).pipe(Effect.map((paths) => paths.map((path) => path.grantId)))
  }
})

const path = (grant: string, overrides: Partial<NatPath> = {}): NatPath => ({
  grantId: grant as GrantId,
  regionId: region.id,
  publicPort: 40_001,
  source: "203.0.113.0/24",
  target: { address: "10.8.0.2", port: 22 },
  stopAt: 60_000,
  ...overrides
})

const provide = <A, E>(effect: Effect.Effect<A, E, RegionalGateway | MemoryRegionalGatewayControl>) =>
  effect.pipe(Effect.provide(MemoryRegionalGateway.layer))

describe("MemoryRegionalGateway kernel model (TestClock)", () => {
  it.effect("new connections are forwarded only from the source CIDR and only before stopAt", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* gateway.open(region, path("g1"), 1)
        const ok = yield* control.connect(region.id, 40_001, "203.0.113.9")
        assert.isTrue(ok.forwarded)
        assert.deepStrictEqual(yield* control.connect(region.id, 40_001, "198.51.100.1"), { forwarded: false, reason: "SourceNotAllowed" })
        assert.deepStrictEqual(yield* control.connect(region.id, 40_002, "203.0.113.9"), { forwarded: false, reason: "NoPath" })
        yield* TestClock.setTime(59_999)
        assert.isTrue((yield* control.connect(region.id, 40_001, "203.0.113.9")).forwarded)
        yield* TestClock.setTime(60_000)
        assert.deepStrictEqual(yield* control.connect(region.id, 40_001, "203.0.113.9"), { forwarded: false, reason: "Expired" })
      })
    )
  )

  it.effect("established flows die at stopAt even though the path is still listed (filter rule stop time)", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* gateway.open(region, path("g1"), 1)
        const flow = yield* control.connect(region.id, 40_001, "203.0.113.9")
        if (!flow.forwarded) return assert.fail("not forwarded")
        yield* TestClock.setTime(59_999)
        assert.isTrue(yield* control.flowAlive(flow.flowId))
        yield* TestClock.setTime(60_000)
        assert.isFalse(yield* control.flowAlive(flow.flowId))
        assert.lengthOf(yield* gateway.list(region), 1)
      })
    )
  )

  it.effect("close cuts established flows of that grant only", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* gateway.open(region, path("g1"), 1)
        yield* gateway.open(region, path("g2", { publicPort: 40_002 }), 2)
        const first = yield* control.connect(region.id, 40_001, "203.0.113.9")
        const second = yield* control.connect(region.id, 40_002, "203.0.113.9")
        if (!first.forwarded || !second.forwarded) return assert.fail("not forwarded")
        yield* gateway.close(region, { grantId: "g1" as GrantId, publicPort: 40_001 }, 3)
        assert.isFalse(yield* control.flowAlive(first.flowId))
        assert.isTrue(yield* control.flowAlive(second.flowId))
        yield* gateway.open(region, path("g1"), 4)
        assert.isFalse(yield* control.flowAlive(first.flowId), "a reopened path revived a cut flow")
      })
    )
  )

  it.effect("reopening a grant with a later stopAt keeps its flows; a changed source cuts them", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* gateway.open(region, path("g1"), 1)
        const flow = yield* control.connect(region.id, 40_001, "203.0.113.9")
        if (!flow.forwarded) return assert.fail("not forwarded")
        yield* gateway.open(region, path("g1", { stopAt: 90_000 }), 2)
        yield* TestClock.setTime(60_000)
        assert.isTrue(yield* control.flowAlive(flow.flowId))
        assert.deepStrictEqual(
          (yield* gateway.list(region)).map((p) => p.stopAt),
          [90_000]
        )
        yield* gateway.open(region, path("g1", { stopAt: 90_000, source: "198.51.100.0/24" }), 3)
        assert.isFalse(yield* control.flowAlive(flow.flowId))
        assert.lengthOf(yield* control.paths(region.id), 1)
      })
    )
  )

  it.effect("the kernel keeps enforcing while the control channel is offline", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* gateway.open(region, path("g1"), 1)
        yield* control.setOffline(region.id, true)
        const error = yield* Effect.flip(gateway.close(region, { grantId: "g1" as GrantId, publicPort: 40_001 }, 2))
        assert.strictEqual(error.reason, "Unreachable")
        assert.isTrue((yield* control.connect(region.id, 40_001, "203.0.113.9")).forwarded)
        yield* TestClock.setTime(60_000)
        assert.isFalse((yield* control.connect(region.id, 40_001, "203.0.113.9")).forwarded)
        yield* control.setOffline(region.id, false)
        assert.lengthOf(yield* gateway.list(region), 1)
      })
    )
  )
})

describe("MemoryRegionalGateway faults and history", () => {
  it.effect("failNext fails the next operations before applying them", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* control.failNext(region.id, 2, "Timeout")
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g1"), 1))).reason, "Timeout")
        assert.strictEqual((yield* Effect.flip(gateway.list(region))).reason, "Timeout")
        assert.lengthOf(yield* control.paths(region.id), 0)
        assert.strictEqual(yield* control.recordedRevision(region.id), 0)
        yield* gateway.open(region, path("g1"), 1)
        assert.lengthOf(yield* control.paths(region.id), 1)
      })
    )
  )

  it.effect("failNext with afterApply applies the change and then reports the failure", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* control.failNext(region.id, 1, "Timeout", { afterApply: true })
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g1"), 7))).reason, "Timeout")
        assert.lengthOf(yield* control.paths(region.id), 1)
        assert.strictEqual(yield* control.recordedRevision(region.id), 7)
      })
    )
  )

  it.effect("history records every applied open and close with time and revision; refused changes are absent", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        yield* TestClock.setTime(1_000)
        yield* gateway.open(region, path("g1"), 3)
        yield* gateway.open(region, path("g1"), 3)
        yield* Effect.flip(gateway.open(region, path("g2"), 4))
        yield* Effect.flip(gateway.close(region, { grantId: "g1" as GrantId, publicPort: 40_001 }, 2))
        yield* TestClock.setTime(2_000)
        yield* gateway.close(region, { grantId: "g1" as GrantId, publicPort: 40_001 }, 5)
        yield* gateway.close(region, { grantId: "g1" as GrantId, publicPort: 40_001 }, 5)
        const history = (yield* control.history).map(({ at, changed, grantId, op, revision }) => ({ op, grantId, revision, at, changed }))
        assert.deepStrictEqual(history, [
          { op: "open", grantId: "g1" as GrantId, revision: 3, at: 1_000, changed: true },
          { op: "open", grantId: "g1" as GrantId, revision: 3, at: 1_000, changed: false },
          { op: "close", grantId: "g1" as GrantId, revision: 5, at: 2_000, changed: true },
          { op: "close", grantId: "g1" as GrantId, revision: 5, at: 2_000, changed: false }
        ])
      })
    )
  )

  it.effect("a public port outside the region's range or a path for another region is Rejected", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g1", { publicPort: 39_999 }), 1))).reason, "Rejected")
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g1", { regionId: "us-1" as RegionId }), 1))).reason, "Rejected")
        assert.strictEqual(yield* gateway.revision(region), 0)
      })
    )
  )

  it.effect("regions are independent: revisions, paths and faults", () =>
    provide(
      Effect.gen(function* () {
        const gateway = yield* RegionalGateway
        const control = yield* MemoryRegionalGatewayControl
        const other: Region = { ...region, id: "us-1" as RegionId }
        yield* gateway.open(region, path("g1"), 10)
        yield* control.setOffline(region.id, true)
        yield* gateway.open(other, path("g2", { regionId: other.id }), 1)
        assert.strictEqual(yield* gateway.revision(other), 1)
        assert.deepStrictEqual(
          (yield* gateway.list(other)).map((p) => p.grantId),
          ["g2" as GrantId]
        )
      })
    )
  )
})
