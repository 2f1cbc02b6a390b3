/**
 * A fast-check property against real netfilter: any sequence of open / close / list leaves
 * exactly the artifacts of the grants a simple model says are open (read back raw from the
 * namespace, not only through the adapter), and none once every grant is closed.
 */
import { Ids, type RegionalGateway } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { assert, it } from "vitest"
import { rawTags, regionOf, tagsPerPath, useGateway } from "./support/gateway.ts"
import { describeNetns } from "./support/netns.ts"

const grants = ["ga_p0", "ga_p1", "ga_p2", "ga_p3"].map((id) => Ids.GrantId.make(id))
const ports = [40100, 40101, 40102]
const sources = ["10.71.1.2/32", "10.71.1.0/24", "10.71.0.0/16", "192.0.2.128/25"]
const targets = [
  { address: "10.71.2.2", port: 22 },
  { address: "10.71.2.3", port: 8291 }
]

type Op =
  | {
      readonly _tag: "open"
      readonly grant: number
      readonly port: number
      readonly source: number
      readonly target: number
      readonly ttl: number
    }
  | { readonly _tag: "close"; readonly grant: number; readonly port: number }
  | { readonly _tag: "list" }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    _tag: fc.constant("open" as const),
    grant: fc.nat(grants.length - 1),
    port: fc.nat(ports.length - 1),
    source: fc.nat(sources.length - 1),
    target: fc.nat(targets.length - 1),
    ttl: fc.integer({ min: 60, max: 7200 })
  }),
  fc.record({ _tag: fc.constant("close" as const), grant: fc.nat(grants.length - 1), port: fc.nat(ports.length - 1) }),
  fc.constant({ _tag: "list" as const })
)

for (const backend of ["iptables", "nftables"] as const) {
  describeNetns(`open/close/list sequences (${backend})`, () => {
    const fixture = useGateway(backend)
    let revision = 0

    it("leave exactly the open grants' artifacts, and none after all are closed", async () => {
      const { topology, gateway } = fixture
      const region = regionOf(topology)
      const sortPaths = (paths: ReadonlyArray<RegionalGateway.NatPath>) => [...paths].sort((a, b) => a.grantId.localeCompare(b.grantId))
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
          const model = new Map<string, RegionalGateway.NatPath>()
          const now = Math.ceil(Date.now() / 1000) * 1000
          for (const step of ops) {
            if (step._tag === "open") {
              const path: RegionalGateway.NatPath = {
                grantId: grants[step.grant] ?? grants[0]!,
                regionId: region.id,
                publicPort: ports[step.port] ?? 40100,
                source: sources[step.source] ?? sources[0]!,
                target: targets[step.target] ?? targets[0]!,
                stopAt: now + step.ttl * 1000
              }
              const holder = [...model.values()].find((held) => held.publicPort === path.publicPort && held.grantId !== path.grantId)
              const result = await gateway.use((g) => Effect.result(g.open(region, path, ++revision)))
              if (holder) {
                assert.strictEqual(result._tag, "Failure")
                if (result._tag === "Failure") assert.strictEqual(result.failure.reason, "Rejected")
              } else {
                assert.strictEqual(result._tag, "Success", JSON.stringify(result))
                model.set(path.grantId, path)
              }
            } else if (step._tag === "close") {
              const grantId = grants[step.grant] ?? grants[0]!
              await gateway.use((g) => g.close(region, { grantId, publicPort: ports[step.port] ?? 40100 }, ++revision))
              model.delete(grantId)
            } else {
              const listed = await gateway.use((g) => g.list(region))
              assert.deepStrictEqual(sortPaths(listed), sortPaths([...model.values()]))
            }
            const expected = [...model.keys()].flatMap((id) => Array.from({ length: tagsPerPath(backend) }, () => id)).sort()
            assert.deepStrictEqual(await rawTags(topology, backend), expected)
          }
          for (const grantId of model.keys()) {
            const held = model.get(grantId)!
            await gateway.use((g) => g.close(region, { grantId: held.grantId, publicPort: held.publicPort }, ++revision))
          }
          assert.deepStrictEqual(await rawTags(topology, backend), [])
          assert.deepStrictEqual(await gateway.use((g) => g.list(region)), [])
        }),
        { numRuns: 20 }
      )
    })
  })
}
