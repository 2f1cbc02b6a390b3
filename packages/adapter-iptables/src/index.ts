/**
 * `@transient-access/adapter-iptables`: the regional gateway on Linux netfilter (iptables
 * and nftables backends), run locally or over SSH.
 *
 * @since 0.1.0
 */
export * as CommandRunner from "./CommandRunner.ts"
export * as NetfilterGateway from "./NetfilterGateway.ts"
export * as SshCommandRunner from "./SshCommandRunner.ts"
