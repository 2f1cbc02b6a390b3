/**
 * The core's `RegionalGateway` contract suite against real netfilter in the regional
 * namespace, for both backends, with commands run locally (`ip netns exec`) and over SSH
 * (OpenSSH's sshd inside the namespace). The probe reads `ta:` tags raw from
 * `iptables-save` / `nft list ruleset`.
 */
import { RegionalGatewaySuite } from "@transient-access/core/suites"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { afterAll, beforeAll } from "vitest"
import type * as SshCommandRunner from "../src/SshCommandRunner.ts"
import * as SshRunner from "../src/SshCommandRunner.ts"
import { gatewayLayer, rawTags, regionOf } from "./support/gateway.ts"
import { createTopology, describeNetns, destroyTopology, type Topology } from "./support/netns.ts"
import { sshTopology } from "./support/sshd.ts"

/** Addresses are fixed by the topology helper, so the region is known before it exists. */
const region = regionOf({ publicAddress: "10.71.1.1", tunnelAddress: "10.71.2.1" } as Topology, "region-suite")
const target = { address: "10.71.2.2", port: 22 }

for (const backend of ["iptables", "nftables"] as const) {
  for (const runner of ["local", "ssh"] as const) {
    describeNetns(`${backend} over ${runner}`, () => {
      let topology: Topology | undefined
      let ssh: SshCommandRunner.SshOptions | undefined
      let close = async () => {}
      beforeAll(async () => {
        if (runner === "ssh") {
          ;({ topology, options: ssh, close } = await sshTopology())
        } else {
          const local = await createTopology()
          topology = local
          close = () => destroyTopology(local)
        }
      })
      afterAll(() => close())
      const layer = Layer.unwrap(
        Effect.sync(() => {
          if (!topology) throw new Error("topology not created")
          return gatewayLayer(topology, backend, runner === "ssh" && ssh ? SshRunner.layer(ssh) : undefined)
        })
      )
      RegionalGatewaySuite.suite(`NetfilterGateway ${backend}/${runner}`, layer, {
        region,
        target,
        probe: {
          taggedGrantIds: () => Effect.promise(() => rawTags(topology!, backend))
        },
        propertyRuns: runner === "ssh" ? 3 : 20
      })
    })
  }
}
