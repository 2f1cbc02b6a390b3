/**
 * Fault switches of the job executor, for tests only: a pause hook between a job's decision
 * and its action (to stage a paused worker racing a revoke), and the deliberately broken
 * variants the model-based test must catch (`fencing: false`, `idempotentRemove: false`).
 * Provide them with `Effect.provideService(ExecutorFaults.ExecutorFaults, { ... })`; without
 * them the executor is the correct one.
 *
 * @since 0.2.0
 */
import { Faults } from "../internal/executor/faults.ts"

/**
 * The switches: `beforeAct(job)` (a pause point), `fencing`, `idempotentRemove`.
 *
 * @category testing
 * @since 0.2.0
 */
export type ExecutorFaults = Faults

/**
 * The reference the executor reads (defaults: no pause, fencing on, idempotent removes).
 *
 * @category testing
 * @since 0.2.0
 */
export const ExecutorFaults = Faults
