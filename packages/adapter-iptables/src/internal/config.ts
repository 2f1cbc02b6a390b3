/**
 * The environment settings of `NetfilterGateway.layerConfig` (Effect `Config`) and the
 * command runner they select: local, or over SSH with a pinned host key.
 *
 * @internal
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CommandRunner from "../CommandRunner.ts"
import * as SshCommandRunner from "../SshCommandRunner.ts"

/** The keys `layerConfig` reads (see `NetfilterGateway.layerConfig`). */
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

/** Reads the settings; SSH without a pinned host key is a `ConfigError`, never "trust any key". */
export const select = Effect.gen(function* () {
  const config = yield* settings
  const prefix = config.sudo ? ["sudo", "-n"] : []
  const options = {
    backend: config.backend,
    snat: config.snat,
    ...(Option.isSome(config.publicAddress) ? { publicAddress: config.publicAddress.value } : {})
  }
  if (Option.isNone(config.sshHost)) {
    const runner: Layer.Layer<CommandRunner.CommandRunner> = CommandRunner.layerLocal({ prefix })
    return { options, runner }
  }
  const hostKeySha256 = yield* Config.String("TA_NETFILTER_SSH_HOST_KEY")
  const runner: Layer.Layer<CommandRunner.CommandRunner> = SshCommandRunner.layer({
    host: config.sshHost.value,
    port: config.sshPort,
    username: config.sshUser,
    hostKeySha256,
    ...(Option.isSome(config.sshPrivateKey) ? { privateKey: config.sshPrivateKey.value } : {}),
    ...(Option.isSome(config.sshAgent) ? { agent: config.sshAgent.value } : {}),
    prefix
  })
  return { options, runner }
})
