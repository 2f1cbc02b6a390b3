/**
 * The RouterOS simulator: `@transient-access/adapter-routeros/testing`.
 *
 * A faithful simulated RouterOS device for tests and demos — API protocol over TCP/TLS,
 * SSH, the `/user`, `/ip/firewall/nat`, `/system/scheduler` menus, a CLI-script interpreter,
 * fault injection and clock control. Start one with `startSimulator(options)`.
 *
 * @since 0.1.0
 */
export * as ApiServer from "./ApiServer.ts"
export * as CliInterpreter from "./CliInterpreter.ts"
export * as CliParser from "./CliParser.ts"
export * as Faults from "./Faults.ts"
export * as Profiles from "./Profiles.ts"
export * as Query from "./Query.ts"
export * as RosError from "./RosError.ts"
export * as RouterState from "./RouterState.ts"
export * as SimClock from "./SimClock.ts"
export * as Simulator from "./Simulator.ts"
export * as SshServer from "./SshServer.ts"
export * as Tables from "./Tables.ts"
export { deviceFor, startSimulator } from "./Simulator.ts"
export type { Simulator as SimulatorHandle, SimulatorOptions } from "./Simulator.ts"
