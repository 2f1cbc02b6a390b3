/**
 * `@transient-access/adapter-routeros`: the `DeviceGateway` for MikroTik RouterOS.
 *
 * - `ApiTransport.layerApi` — push over the RouterOS API (node-routeros, hardened);
 * - `SshTransport.layerSsh` — push over SSH running CLI commands;
 * - `PullChannel.layerPull` + `PullChannel.PullChannel` — pull mode (HTTPS check-ins);
 * - `RosScript` — the one escaping function (`quote`) and command rendering.
 *
 * The simulator lives in `@transient-access/adapter-routeros/testing`.
 *
 * @since 0.1.0
 */
export * as ApiTransport from "./ApiTransport.ts"
export * as MenuClient from "./MenuClient.ts"
export * as PullChannel from "./PullChannel.ts"
export * as PullScript from "./PullScript.ts"
export * as RosScript from "./RosScript.ts"
export * as RouterOsGateway from "./RouterOsGateway.ts"
export * as SshTransport from "./SshTransport.ts"
export { layerApi } from "./ApiTransport.ts"
export { layerChannel, layerPull, makePullChannel } from "./PullChannel.ts"
export { layerSsh } from "./SshTransport.ts"
