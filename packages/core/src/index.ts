/**
 * Transient Access SDK core: domain schemas, ports, the grant lifecycle and sagas, workers,
 * the embedded in-memory store, queue and audit log, the Effect composition root (`Engine`)
 * and the Promise facade. Test doubles (in-memory gateways with fault controls), fault
 * switches and the contract suites are in `@transient-access/core/testing`.
 *
 * @since 0.1.0
 */
export * as AuditLog from "./AuditLog.ts"
export * as Cidr from "./Cidr.ts"
export * as Credentials from "./Credentials.ts"
export * as DeviceGateway from "./DeviceGateway.ts"
export * as Engine from "./Engine.ts"
export * as EngineConfig from "./EngineConfig.ts"
export * as Errors from "./Errors.ts"
export * as ExpirySweep from "./ExpirySweep.ts"
export * as Facade from "./Facade.ts"
export * as Grant from "./Grant.ts"
export * as GrantRequest from "./GrantRequest.ts"
export * as Grants from "./Grants.ts"
export * as GrantStore from "./GrantStore.ts"
export * as Ids from "./Ids.ts"
export * as Job from "./Job.ts"
export * as JobQueue from "./JobQueue.ts"
export * as JobRunner from "./JobRunner.ts"
export * as Lifecycle from "./Lifecycle.ts"
export * as MemoryGrantStore from "./MemoryGrantStore.ts"
export * as MemoryJobQueue from "./MemoryJobQueue.ts"
export * as MemoryPullStore from "./MemoryPullStore.ts"
export * as OutboxRelay from "./OutboxRelay.ts"
export * as Policy from "./Policy.ts"
export * as PortAllocator from "./PortAllocator.ts"
export * as PullStore from "./PullStore.ts"
export * as Reconciler from "./Reconciler.ts"
export * as RegionalGateway from "./RegionalGateway.ts"
export * as SecretBox from "./SecretBox.ts"
export * as TargetError from "./TargetError.ts"
export * as Topology from "./Topology.ts"
export * as Workers from "./Workers.ts"

// The names most callers need, at the top level.
export { createTransientAccess, revealPassword } from "./Facade.ts"
export type { GrantInput, TransientAccess, TransientAccessOptions } from "./Facade.ts"
export { GrantStateConflict, InvalidRequest, PortsExhausted } from "./Errors.ts"
export { GenerationConflict, GrantNotFound, IdempotencyConflict, PortTaken, StoreError } from "./GrantStore.ts"
export { PolicyDenied } from "./Policy.ts"
export { QueueError } from "./JobQueue.ts"
export { DeviceGatewayError, RegionalGatewayError } from "./TargetError.ts"
export { DeviceNotFound, RegionNotFound } from "./Topology.ts"
export { InvalidCidr } from "./Cidr.ts"
// Model and service types re-exported at the top level (documented in their modules), so that
// declaration bundles and callers can name them without reaching into a namespace.
export type { AuditEvent } from "./AuditLog.ts"
export type { AuditLog as AuditLogService } from "./AuditLog.ts"
export type { DeviceForward, DeviceForwardSpec, DeviceInventory, DeviceUser, DeviceUserSpec } from "./DeviceGateway.ts"
export type { DeviceGateway as DeviceGatewayService } from "./DeviceGateway.ts"
export type { EngineSettings } from "./EngineConfig.ts"
export type { Grant as GrantModel, GrantPatch, GrantState, Target } from "./Grant.ts"
export type { GrantStore as GrantStoreService, NewGrant, StoreStats } from "./GrantStore.ts"
export type { Job as JobModel } from "./Job.ts"
export type { DeadLetter, Delivery, JobQueue as JobQueueService } from "./JobQueue.ts"
export type { NatPath, RegionalGateway as RegionalGatewayService } from "./RegionalGateway.ts"
export type { Device, DeviceDirectory, Region, RegionDirectory } from "./Topology.ts"
export type { EngineOptions, Services } from "./Engine.ts"
