/**
 * Builds a gateway whose commands run inside a test namespace, and the raw probes that read
 * the namespace's firewall directly (so a test never trusts the adapter's own listing alone).
 *
 * @since 0.1.0
 */
import { Ids, RegionalGateway, type Topology as Core } from "@transient-access/core"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { afterAll, beforeAll } from "vitest"
import * as CommandRunner from "../../src/CommandRunner.ts"
import * as NetfilterGateway from "../../src/NetfilterGateway.ts"
import { createTopology, destroyTopology, inNs, type Topology } from "./netns.ts"

/** The region every test uses. */
export const regionOf = (topology: Topology, id = "region-test"): Core.Region => ({
  id: Ids.RegionId.make(id),
  endpointHost: topology.publicAddress,
  portRange: { from: 40000, to: 40999 },
  tunnelAddress: topology.tunnelAddress
})

/** A runner that executes locally inside the regional namespace. */
export const localRunner = (topology: Topology): Layer.Layer<CommandRunner.CommandRunner> =>
  CommandRunner.layerLocal({ prefix: ["ip", "netns", "exec", topology.regional] })

/** The gateway layer for a backend, by default running commands locally in the regional namespace. */
export const gatewayLayer = (
  topology: Topology,
  backend: "iptables" | "nftables",
  runner: Layer.Layer<CommandRunner.CommandRunner, unknown> = localRunner(topology),
  options: Partial<NetfilterGateway.NetfilterOptions> = {}
) =>
  NetfilterGateway.layer({ backend, cidrPolicy: { minPrefixV4: 8, minPrefixV6: 32, allowAnySource: false }, ...options }).pipe(
    Layer.provide(runner)
  )

/** A runtime holding one gateway. */
export const gatewayRuntime = (layer: Layer.Layer<RegionalGateway.RegionalGateway, unknown>) => {
  const runtime = ManagedRuntime.make(layer)
  const use = <A, E>(f: (gateway: RegionalGateway.RegionalGateway["Service"]) => import("effect/Effect").Effect<A, E>) =>
    runtime.runPromise(RegionalGateway.RegionalGateway.use(f))
  return { runtime, use }
}

/** A topology and a gateway on it, for the tests of one `describe`. */
export interface GatewayFixture {
  readonly topology: Topology
  readonly gateway: ReturnType<typeof gatewayRuntime>
}

/**
 * Creates a topology and a local-runner gateway for `backend` before the enclosing
 * `describe`'s tests and removes both after them; read the fields inside the tests.
 */
export const useGateway = (backend: "iptables" | "nftables"): GatewayFixture => {
  let created: GatewayFixture | undefined
  beforeAll(async () => {
    const topology = await createTopology()
    created = { topology, gateway: gatewayRuntime(gatewayLayer(topology, backend)) }
  })
  afterAll(async () => {
    await created?.gateway.runtime.dispose()
    await destroyTopology(created?.topology)
  })
  const current = (): GatewayFixture => {
    if (created === undefined) throw new Error("the gateway fixture was not created (beforeAll failed)")
    return created
  }
  return {
    get topology() {
      return current().topology
    },
    get gateway() {
      return current().gateway
    }
  }
}

/** Grant ids found in the namespace's rules or elements, read without the adapter. */
export const rawTags = async (topology: Topology, backend: "iptables" | "nftables"): Promise<ReadonlyArray<string>> => {
  if (backend === "iptables") {
    const saved = await inNs(topology.regional, ["iptables-save"])
    return [...saved.matchAll(/--comment "?ta:([A-Za-z0-9._:-]+)"?/g)].map((match) => match[1] ?? "").sort()
  }
  const listed = await inNs(topology.regional, ["nft", "list", "ruleset"])
  return [...listed.matchAll(/comment "ta:([A-Za-z0-9._:-]+?)(?:;stop=\d+)?"/g)].map((match) => match[1] ?? "").sort()
}

/** Tagged artifacts per open path: DNAT + forward rule, or record + DNAT + live element. */
export const tagsPerPath = (backend: "iptables" | "nftables"): number => (backend === "iptables" ? 2 : 3)

/** Whether the adapter created anything in the namespace. */
export const rawHasLayout = async (topology: Topology, backend: "iptables" | "nftables"): Promise<boolean> => {
  if (backend === "iptables") return /TA-/.test(await inNs(topology.regional, ["iptables-save"]))
  return /transient_access/.test(await inNs(topology.regional, ["nft", "list", "tables"]))
}
