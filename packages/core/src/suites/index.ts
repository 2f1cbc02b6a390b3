/**
 * Contract suites of the core's ports — run them against your adapter to prove it keeps
 * the port's contract (`GrantStoreSuite`, `JobQueueSuite`, `RegionalGatewaySuite`,
 * `DeviceGatewaySuite`, `AuditLogSuite`, `PullStoreSuite`) — and the model-based test of
 * the sagas (`ModelTest`), which drives the real engine against a model with faults.
 *
 * Requires `vitest`, `@effect/vitest` and `fast-check` (optional peer dependencies).
 *
 * @since 0.2.0
 */
export * as AuditLogSuite from "./AuditLogSuite.ts"
export * as DeviceGatewaySuite from "./DeviceGatewaySuite.ts"
export * as GrantStoreSuite from "./GrantStoreSuite.ts"
export * as JobQueueSuite from "./JobQueueSuite.ts"
export * as ModelTest from "./ModelTest.ts"
export * as PullStoreSuite from "./PullStoreSuite.ts"
export * as RegionalGatewaySuite from "./RegionalGatewaySuite.ts"
