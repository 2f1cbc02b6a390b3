/**
 * Grant builders for the adapter's own tests (the core's `testing` fixtures, once exported,
 * can replace them).
 */
import { randomBytes } from "node:crypto"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Grant as GrantModule, Job } from "@transient-access/core"
import type { GrantStore, Ids } from "@transient-access/core"

/** A random lower-case suffix. */
export const suffix = (): string => randomBytes(6).toString("hex")

/** A valid pending access grant; `overrides` replace whole fields. */
export const makeGrant = (overrides: Partial<GrantModule.Grant> = {}): GrantModule.Grant => {
  const now = Date.now()
  const id = suffix()
  return {
    id: `ga_${id}` as Ids.GrantId,
    kind: "access",
    deviceId: `device-${suffix()}` as Ids.DeviceId,
    regionId: `region-${suffix()}` as Ids.RegionId,
    accessType: "ssh",
    permission: "full",
    source: "198.51.100.7/32",
    actor: `actor-${suffix()}` as Ids.ActorId,
    createdAt: now,
    expiresAt: now + 60 * 60 * 1000,
    username: `ta-${id}`,
    endpoint: { host: "203.0.113.10", port: 20_000 + Math.floor(Math.random() * 10_000) },
    target: { address: "10.200.0.2", port: 22 },
    forward: null,
    state: "pending",
    revokeReason: null,
    revokeRequestedAt: null,
    revokedAt: null,
    progress: GrantModule.initialProgress,
    generation: 1,
    revision: 0,
    label: null,
    ...overrides
  }
}

/** A `NewGrant` with provisioning jobs and, optionally, a device secret and idempotency key. */
export const newGrant = (
  grant: GrantModule.Grant,
  options: { readonly secret?: string; readonly idempotency?: GrantStore.IdempotencyKey } = {}
): GrantStore.NewGrant => ({
  grant,
  deviceSecret: options.secret === undefined ? Option.none() : Option.some(Redacted.make(options.secret)),
  jobs: (stored) => Job.provisionJobs(stored, stored.createdAt),
  idempotency: options.idempotency === undefined ? Option.none() : Option.some(options.idempotency)
})

/** A strong random password like the core's (base62, 24 characters). */
export const password = (): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  return Array.from(randomBytes(24), (byte) => alphabet[byte % alphabet.length]).join("")
}
