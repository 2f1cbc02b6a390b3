/**
 * The expiry sweep: moves expired live grants to `revoking` (reason `expired`) with their
 * removal jobs, in the store, by the store's clock, claiming rows with skip-locked
 * semantics so several instances split the work and none revokes a grant twice.
 *
 * Expiry does not depend on the sweep alone: NAT paths and device users carry their own
 * stop time on the target.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { sweepExpired } from "./Lifecycle.ts"

/**
 * Claims and revokes one batch of expired grants; returns how many.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sweepOnce = Effect.fn("ExpirySweep.sweepOnce")(function* (limit = 500) {
  const claimed = yield* sweepExpired(limit)
  return claimed.length
})
