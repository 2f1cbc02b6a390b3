/**
 * Transient Access SDK core: domain schemas, ports, sagas, workers, in-memory adapters and
 * the Promise facade.
 *
 * @since 0.1.0
 */
export * as AuditLog from "./AuditLog.ts"
export * as DeviceGateway from "./DeviceGateway.ts"
export * as EngineConfig from "./EngineConfig.ts"
export * as Errors from "./Errors.ts"
export * as Grant from "./Grant.ts"
export * as GrantStore from "./GrantStore.ts"
export * as Ids from "./Ids.ts"
export * as Job from "./Job.ts"
export * as JobQueue from "./JobQueue.ts"
export * as Policy from "./Policy.ts"
export * as RegionalGateway from "./RegionalGateway.ts"
export * as SecretBox from "./SecretBox.ts"
export * as TargetError from "./TargetError.ts"
export * as Topology from "./Topology.ts"
