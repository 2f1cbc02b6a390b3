/**
 * The executor's pause hook and its deliberately broken variants. The default is the
 * correct executor; `@transient-access/core/testing` (`ExecutorFaults`) lets the model-based
 * tests pause a worker between its decision and its action, and switch single safeguards
 * off to prove that the tests can fail.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { Job } from "../../Job.ts"

/** The switches. */
export interface Faults {
  /** Called after the executor decided to act and before it touches a target (a pause point). */
  readonly beforeAct: (job: Job) => Effect.Effect<void>
  /** Fences on (revision, locked re-check, disabled-then-enable). */
  readonly fencing: boolean
  /** Removes treat "not found" as success. */
  readonly idempotentRemove: boolean
}

/** The switches in force (the correct executor unless a test provides others). */
export const Faults = Context.Reference<Faults>("@transient-access/core/testing/ExecutorFaults", {
  defaultValue: () => ({ beforeAct: () => Effect.void, fencing: true, idempotentRemove: true })
})
