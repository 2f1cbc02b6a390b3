/**
 * IPv6 regions: the same layouts through `ip6tables-restore` and an `ip6` nft table.
 * Rules only (open, list, raw tags, close); the IPv6 data path is not exercised here.
 */
import { Ids, type RegionalGateway, type Topology as Core } from "@transient-access/core"
import * as Effect from "effect/Effect"
import { assert, it } from "vitest"
import { useGateway } from "./support/gateway.ts"
import { describeNetns, inNs } from "./support/netns.ts"

for (const backend of ["iptables", "nftables"] as const) {
  describeNetns(`IPv6 region (${backend})`, () => {
    const fixture = useGateway(backend)

    it("opens, lists and closes an IPv6 path; refuses mixed families", async () => {
      const { topology, gateway } = fixture
      const region: Core.Region = {
        id: Ids.RegionId.make("region-v6"),
        endpointHost: "fd00:71:1::1",
        portRange: { from: 40000, to: 40999 },
        tunnelAddress: "fd00:71:2::1"
      }
      const path: RegionalGateway.NatPath = {
        grantId: Ids.GrantId.make("ga_v6"),
        regionId: region.id,
        publicPort: 40600,
        source: "2001:db8:5::/48",
        target: { address: "fd00:71:2::2", port: 8291 },
        stopAt: Date.now() + 3_600_000
      }
      await gateway.use((g) => g.open(region, path, 1))
      assert.deepStrictEqual(await gateway.use((g) => g.list(region)), [path])
      const raw =
        backend === "iptables"
          ? await inNs(topology.regional, ["ip6tables-save", "-t", "nat"])
          : await inNs(topology.regional, ["nft", "list", "table", "ip6", "transient_access"])
      assert.include(raw, "ta:ga_v6")
      assert.include(raw, backend === "iptables" ? "[fd00:71:2::2]:8291" : "fd00:71:2::2 . 8291")
      const mixed = await gateway.use((g) =>
        Effect.flip(g.open(region, { ...path, grantId: Ids.GrantId.make("ga_v4"), publicPort: 40601, source: "203.0.113.0/24" }, 2))
      )
      assert.strictEqual(mixed.reason, "Rejected")
      await gateway.use((g) => g.close(region, { grantId: path.grantId, publicPort: path.publicPort }, 3))
      assert.deepStrictEqual(await gateway.use((g) => g.list(region)), [])
    })
  })
}
