/**
 * Test builders: a valid pending grant, a region and a device, each with fresh random ids so
 * that tests sharing one store never meet each other's data.
 *
 * Times come from `Date.now()` (tests against real stores run on the live clock); pass
 * `createdAt` / `expiresAt` to pin them.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import { initialProgress } from "../Grant.ts"
import type { Grant } from "../Grant.ts"
import type { NewGrant } from "../GrantStore.ts"
import type { ActorId, DeviceId, GrantId, RegionId } from "../Ids.ts"
import { randomToken } from "../internal/randomToken.ts"
import { provisionJobs } from "../Job.ts"
import { defaultDevicePorts } from "../Topology.ts"
import type { Device, Region } from "../Topology.ts"

/**
 * A fresh random suffix for test ids (lower-case letters and digits).
 *
 * @category testing
 * @since 0.1.0
 */
export const testSuffix = (): string => randomToken(16)

let nextPortOffset = Number.parseInt(randomToken(4, "0123456789"), 10)

/**
 * A port in 20000-29999: a random start, then successive ports, so that the grants of one
 * process never collide (random draws did, about once in a hundred suites, as `PortTaken`).
 *
 * @category testing
 * @since 0.1.0
 */
export const testPort = (): number => 20_000 + (nextPortOffset++ % 10_000)

/**
 * A valid `pending` `access` grant: generation 1, random ids and port, created now,
 * expiring in one hour. `overrides` replace whole fields; with an `expiresAt` less than an
 * hour away (or past) and no `createdAt`, creation moves back so that it stays before expiry.
 *
 * @category testing
 * @since 0.1.0
 */
export const makeTestGrant = (overrides: Partial<Grant> = {}): Grant => {
  const now = Date.now()
  const suffix = testSuffix()
  const expiresAt = overrides.expiresAt ?? now + 60 * 60 * 1000
  return {
    id: `ga_test_${suffix}` as GrantId,
    kind: "access",
    deviceId: `device-${testSuffix()}` as DeviceId,
    regionId: `region-${testSuffix()}` as RegionId,
    accessType: "ssh",
    permission: "full",
    source: "198.51.100.7/32",
    actor: `actor-${testSuffix()}` as ActorId,
    // an expiry given in the past moves creation before it (stores refuse expiresAt < createdAt)
    createdAt: Math.max(0, Math.min(now, expiresAt - 60 * 60 * 1000)),
    expiresAt,
    username: `ta-${suffix}`,
    endpoint: { host: "203.0.113.10", port: testPort() },
    target: { address: "10.200.0.2", port: defaultDevicePorts.ssh },
    forward: null,
    state: "pending",
    revokeReason: null,
    revokeRequestedAt: null,
    revokedAt: null,
    progress: initialProgress,
    generation: 1,
    revision: 0,
    label: null,
    ...overrides
  }
}

/**
 * What `GrantStore.insert` takes for a grant: no device secret, its provisioning jobs, no
 * idempotency key, unless `extra` says otherwise.
 *
 * @category testing
 * @since 0.1.0
 */
export const makeNewGrant = (grant: Grant, extra: Partial<NewGrant> = {}): NewGrant => ({
  grant,
  deviceSecret: Option.none(),
  jobs: (stored) => provisionJobs(stored, stored.createdAt),
  idempotency: Option.none(),
  ...extra
})

/**
 * A region with a random id handing out ports 20000-29999.
 *
 * @category testing
 * @since 0.1.0
 */
export const testRegion = (overrides: Partial<Region> = {}): Region => ({
  id: `region-${testSuffix()}` as RegionId,
  endpointHost: "203.0.113.10",
  portRange: { from: 20_000, to: 29_999 },
  tunnelAddress: "10.200.0.1",
  ...overrides
})

/**
 * A push-mode RouterOS device with a random id (in a random region unless overridden), on
 * RouterOS's default LAN `192.168.88.1/24`.
 *
 * @category testing
 * @since 0.1.0
 */
export const testDevice = (overrides: Partial<Device> = {}): Device => ({
  id: `device-${testSuffix()}` as DeviceId,
  regionId: `region-${testSuffix()}` as RegionId,
  tunnelAddress: "10.200.0.2",
  ports: defaultDevicePorts,
  mode: "push",
  lanAddresses: ["192.168.88.1/24"],
  ...overrides
})
