/**
 * The regional side of the wiring: the user-space relay (`@transient-access/adapter-relay`,
 * the embedded default) or Linux netfilter on this host (`@transient-access/adapter-iptables`,
 * `iptables` or `nftables` backend, commands run locally as argument vectors, optionally
 * behind `TA_NETFILTER_PREFIX` such as `sudo -n`). Netfilter needs root (or CAP_NET_ADMIN)
 * and the `iptables`/`nft` and `conntrack` tools on the host.
 *
 * @since 0.1.0
 */
import { RelayGateway } from "@transient-access/adapter-relay"
import { CommandRunner, NetfilterGateway } from "@transient-access/adapter-iptables"
import type { RegionalGateway } from "@transient-access/core"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Settings } from "./Settings.ts"

/**
 * The regional gateway the settings select.
 *
 * @category layers
 * @since 0.1.0
 */
export const regionalLayer = (
  settings: Pick<Settings, "regional" | "netfilter">
): Layer.Layer<RegionalGateway.RegionalGateway, unknown> => {
  switch (settings.regional) {
    case "relay":
      return RelayGateway.layerConfig
    case "iptables":
    case "nftables": {
      const { netfilter } = settings
      return NetfilterGateway.layer({
        backend: settings.regional,
        snat: netfilter.snat,
        ...(Option.isSome(netfilter.publicAddress) ? { publicAddress: netfilter.publicAddress.value } : {})
      }).pipe(Layer.provide(CommandRunner.layerLocal({ prefix: netfilter.prefix })))
    }
  }
}
