/**
 * `@transient-access/adapter-routeros`: the `DeviceGateway` for MikroTik RouterOS.
 *
 * - `ApiTransport.layer` / `ApiTransport.layerConfig` — push over the RouterOS API
 *   (node-routeros, hardened);
 * - `SshTransport.layer` — push over SSH running CLI commands;
 * - `PullChannel.layer` — pull mode's check-in channel (device tokens, bootstrap, the
 *   check-in handler an HTTP server mounts), and `PullGateway.layer` /
 *   `PullGateway.layerConfig` — the `DeviceGateway` over it;
 * - `PullScript` — the bootstrap and check-in scripts an operator installs, and the report
 *   they send;
 * - `RosScript` — the one escaping function (`quote`) and command rendering.
 *
 * The simulator lives in `@transient-access/adapter-routeros/testing`.
 *
 * @since 0.1.0
 */
export * as ApiTransport from "./ApiTransport.ts"
export * as PullChannel from "./PullChannel.ts"
export * as PullGateway from "./PullGateway.ts"
export * as PullScript from "./PullScript.ts"
export * as RosScript from "./RosScript.ts"
export * as SshTransport from "./SshTransport.ts"
