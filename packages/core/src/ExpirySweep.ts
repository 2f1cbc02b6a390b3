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
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { AuditLog } from "./AuditLog.ts"
import { GrantStore } from "./GrantStore.ts"
import { removalJobs } from "./Job.ts"

/**
 * Claims and revokes one batch of expired grants; returns how many.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sweepOnce = Effect.fn("ExpirySweep.sweepOnce")(function*(limit = 500) {
  const store = yield* GrantStore
  const audit = yield* AuditLog
  const claimed = yield* store.claimExpired({
    limit,
    plan: (grant, now) => ({
      patch: { state: "revoking", revokeReason: "expired", revokeRequestedAt: now },
      jobs: removalJobs(grant, now)
    })
  })
  const now = yield* Clock.currentTimeMillis
  for (const grant of claimed) {
    yield* store.wipeDeviceSecret(grant.id)
    yield* audit.record({ at: now, actor: "system", action: "grant.revoke", grantId: grant.id, details: { reason: "expired" } })
  }
  return claimed.length
})
