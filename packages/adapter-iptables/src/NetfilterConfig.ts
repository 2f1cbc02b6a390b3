/**
 * The netfilter regional gateway configured from the environment (Effect `Config`): the
 * backend, its options and the command runner — local, or over SSH with a pinned host key.
 *
 * | key | meaning |
 * | --- | --- |
 * | `TA_NETFILTER_BACKEND` | `iptables` or `nftables` (default `nftables`) |
 * | `TA_NETFILTER_PUBLIC_ADDRESS` | only DNAT/cut flows to this address (optional) |
 * | `TA_NETFILTER_SNAT` | source-NAT to the region's tunnel address (default `true`) |
 * | `TA_NETFILTER_SSH_HOST` | run the commands on this host over SSH (unset: locally) |
 * | `TA_NETFILTER_SSH_PORT`, `TA_NETFILTER_SSH_USER` | SSH port (22) and user (`root`) |
 * | `TA_NETFILTER_SSH_HOST_KEY` | the server's pinned key, `SHA256:…` (required with SSH) |
 * | `TA_NETFILTER_SSH_PRIVATE_KEY` | private key text (`Redacted`); or `SSH_AUTH_SOCK` for an agent |
 * | `TA_NETFILTER_SUDO` | prefix every command with `sudo -n` (default `false`) |
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { RegionalGateway, TargetError } from "@transient-access/core"
import * as CommandRunner from "./CommandRunner.ts"
import * as NetfilterGateway from "./NetfilterGateway.ts"
import * as SshCommandRunner from "./SshCommandRunner.ts"

/**
 * The settings `layerConfig` reads.
 *
 * @category models
 * @since 0.1.0
 */
export const settings = Config.all({
  backend: Config.Literals(["iptables", "nftables"], "TA_NETFILTER_BACKEND").pipe(Config.withDefault("nftables" as const)),
  publicAddress: Config.option(Config.String("TA_NETFILTER_PUBLIC_ADDRESS")),
  snat: Config.Boolean("TA_NETFILTER_SNAT").pipe(Config.withDefault(true)),
  sudo: Config.Boolean("TA_NETFILTER_SUDO").pipe(Config.withDefault(false)),
  sshHost: Config.option(Config.String("TA_NETFILTER_SSH_HOST")),
  sshPort: Config.Port("TA_NETFILTER_SSH_PORT").pipe(Config.withDefault(22)),
  sshUser: Config.String("TA_NETFILTER_SSH_USER").pipe(Config.withDefault("root")),
  sshPrivateKey: Config.option(Config.Redacted("TA_NETFILTER_SSH_PRIVATE_KEY")),
  sshAgent: Config.option(Config.String("SSH_AUTH_SOCK"))
})

/**
 * The regional gateway from `Config`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<
  RegionalGateway.RegionalGateway,
  TargetError.RegionalGatewayError | Config.ConfigError
> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* settings
    const prefix = config.sudo ? ["sudo", "-n"] : []
    let runner: Layer.Layer<CommandRunner.CommandRunner, Config.ConfigError>
    if (Option.isSome(config.sshHost)) {
      // Required with SSH: a missing pinned host key is a ConfigError, never "trust any key".
      const hostKeySha256 = yield* Config.String("TA_NETFILTER_SSH_HOST_KEY")
      runner = SshCommandRunner.layer({
        host: config.sshHost.value,
        port: config.sshPort,
        username: config.sshUser,
        hostKeySha256,
        ...(Option.isSome(config.sshPrivateKey) ? { privateKey: config.sshPrivateKey.value } : {}),
        ...(Option.isSome(config.sshAgent) ? { agent: config.sshAgent.value } : {}),
        prefix
      })
    } else {
      runner = CommandRunner.layerLocal({ prefix })
    }
    return NetfilterGateway.layer({
      backend: config.backend,
      snat: config.snat,
      ...(Option.isSome(config.publicAddress) ? { publicAddress: config.publicAddress.value } : {})
    }).pipe(Layer.provide(runner))
  })
)
