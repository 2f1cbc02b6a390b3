/**
 * Both backends with the regional namespace reached over SSH: OpenSSH's sshd runs inside it
 * and the gateway drives it through `SshCommandRunner` (one persistent ssh2 connection).
 */
import type * as SshCommandRunner from "../src/SshCommandRunner.ts"
import * as SshRunner from "../src/SshCommandRunner.ts"
import { gatewayLayer } from "./support/gateway.ts"
import { scenarios } from "./support/scenarios.ts"
import { startSshd } from "./support/sshd.ts"

for (const backend of ["iptables", "nftables"] as const) {
  let options: SshCommandRunner.SshOptions | undefined
  let dispose = () => {}
  scenarios({
    name: `NetfilterGateway (${backend}, SSH runner)`,
    backend,
    setup: async (topology) => {
      const sshd = await startSshd(topology)
      options = sshd.options
      dispose = sshd.dispose
    },
    teardown: () => dispose(),
    layer: (topology) => {
      if (!options) throw new Error("sshd was not started")
      return gatewayLayer(topology, backend, SshRunner.layer(options))
    }
  })
}
