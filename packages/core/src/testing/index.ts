/**
 * Test kit of the core: the contract suite of every port (run them against your adapter),
 * the model-based test of the sagas, in-memory regional and device gateways and a queue
 * with fault controls, the executor's fault switches, a manual clock and fixtures.
 *
 * Requires `vitest`, `@effect/vitest` and `fast-check` (optional peer dependencies).
 *
 * @since 0.1.0
 */
export * as AuditLogSuite from "./AuditLogSuite.ts"
export * as DeviceGatewaySuite from "./DeviceGatewaySuite.ts"
export * as ExecutorFaults from "./ExecutorFaults.ts"
export * as Fixtures from "./fixtures.ts"
export * as GrantStoreSuite from "./GrantStoreSuite.ts"
export * as JobQueueSuite from "./JobQueueSuite.ts"
export * as ManualClock from "./ManualClock.ts"
export * as MemoryDeviceGateway from "./MemoryDeviceGateway.ts"
export * as MemoryJobQueueControl from "./MemoryJobQueueControl.ts"
export * as MemoryRegionalGateway from "./MemoryRegionalGateway.ts"
export * as ModelTest from "./ModelTest.ts"
export * as PullStoreSuite from "./PullStoreSuite.ts"
export * as RegionalGatewaySuite from "./RegionalGatewaySuite.ts"
// Types the test kit's declarations mention, at the top level so that declaration bundles
// and callers can name them without reaching into a namespace.
export type { PendingJob, PendingStatus } from "./MemoryJobQueueControl.ts"
export type { MemoryJobQueueControl as MemoryJobQueueControlService } from "./MemoryJobQueueControl.ts"
