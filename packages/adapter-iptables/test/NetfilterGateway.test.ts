/**
 * Both backends, commands run locally inside the regional namespace.
 */
import { gatewayLayer } from "./support/gateway.ts"
import { scenarios } from "./support/scenarios.ts"

for (const backend of ["iptables", "nftables"] as const) {
  scenarios({ name: `NetfilterGateway (${backend}, local runner)`, backend, layer: (topology) => gatewayLayer(topology, backend) })
}
