/**
 * Test doubles of the core: in-memory regional and device gateways and the in-memory
 * queue's control, each with fault controls; the executor's fault switches (the
 * deliberately broken variants the model test uses); a manual clock and fixtures. Nothing
 * here needs a test runner: the contract suites that do are in `@transient-access/core/suites`.
 *
 * @since 0.1.0
 */
export * as ExecutorFaults from "./ExecutorFaults.ts"
export * as Fixtures from "./fixtures.ts"
export * as ManualClock from "./ManualClock.ts"
export * as MemoryDeviceGateway from "./MemoryDeviceGateway.ts"
export * as MemoryJobQueueControl from "./MemoryJobQueueControl.ts"
export * as MemoryRegionalGateway from "./MemoryRegionalGateway.ts"
// Types the doubles' declarations mention, at the top level so that declaration bundles
// and callers can name them without reaching into a namespace.
export type { PendingJob, PendingStatus } from "../internal/memoryJobQueue.ts"
export type { MemoryJobQueueControl as MemoryJobQueueControlService } from "./MemoryJobQueueControl.ts"
export type { ManualClock as ManualClockService } from "./ManualClock.ts"
export type { MemoryDeviceGatewayControl } from "./MemoryDeviceGateway.ts"
export type { MemoryRegionalGatewayControl } from "./MemoryRegionalGateway.ts"
