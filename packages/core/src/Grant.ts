/**
 * The grant model: what was granted to whom, where, until when, and how far its saga got.
 *
 * A grant moves through `pending → active → revoking → revoked`. `pending` and `active`
 * may move to `revoking` at any time (manual revoke, expiry, failed provisioning);
 * `revoked` is terminal and means every artifact was confirmed absent by listing its
 * target and the port is free again. Every change bumps `generation` (compare-and-set)
 * and stamps `revision` with the region's new revision (the regional fence).
 *
 * Times are epoch milliseconds (UTC).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ActorId, DeviceId, GrantId, idPatternSource, RegionId } from "./Ids.ts"

/**
 * How the user reaches the device: `ssh` (port 22) or `winbox` (port 8291).
 *
 * @category schemas
 * @since 0.1.0
 */
export const AccessType = Schema.Literals(["ssh", "winbox"])
/** @category models @since 0.1.0 */
export type AccessType = typeof AccessType.Type

/**
 * What the temporary user may do: `full` or `read-only`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Permission = Schema.Literals(["full", "read-only"])
/** @category models @since 0.1.0 */
export type Permission = typeof Permission.Type

/**
 * `access`: a temporary user on the router reached through a NAT path.
 * `port-forward`: a temporary dst-nat on the router towards a LAN host.
 *
 * @category schemas
 * @since 0.1.0
 */
export const GrantKind = Schema.Literals(["access", "port-forward"])
/** @category models @since 0.1.0 */
export type GrantKind = typeof GrantKind.Type

/**
 * The saga state of a grant.
 *
 * @category schemas
 * @since 0.1.0
 */
export const GrantState = Schema.Literals(["pending", "active", "revoking", "revoked"])
/** @category models @since 0.1.0 */
export type GrantState = typeof GrantState.Type

/**
 * Why a grant is being revoked.
 *
 * @category schemas
 * @since 0.1.0
 */
export const RevokeReason = Schema.Literals(["manual", "expired", "failed", "forced"])
/** @category models @since 0.1.0 */
export type RevokeReason = typeof RevokeReason.Type

/**
 * Epoch milliseconds.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Timestamp = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * A TCP/UDP port number (1-65535).
 *
 * @category schemas
 * @since 0.1.0
 */
export const PortNumber = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65_535 }))

/**
 * Where the caller connects: the regional server's public host and the allocated port.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Endpoint = Schema.Struct({ host: Schema.String, port: PortNumber })
/** @category models @since 0.1.0 */
export type Endpoint = typeof Endpoint.Type

/**
 * Where a NAT path or forward leads: an address (canonical IPv4/IPv6 text) and a port.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Target = Schema.Struct({ address: Schema.String, port: PortNumber })
/** @category models @since 0.1.0 */
export type Target = typeof Target.Type

/**
 * Progress of the saga on each target. Creates set `natOpen` / `deviceReady` once the
 * target lists the artifact; removes set `natGone` / `deviceGone` once it lists it absent.
 *
 * @category schemas
 * @since 0.1.0
 */
export const GrantProgress = Schema.Struct({
  natOpen: Schema.Boolean,
  deviceReady: Schema.Boolean,
  natGone: Schema.Boolean,
  deviceGone: Schema.Boolean,
  /** Remove attempts that failed so far. */
  revokeAttempts: Schema.Int,
  /** Set when a revoke keeps failing: visible and alerted, still retried forever. */
  revokeStuck: Schema.Boolean,
  /** Provisioning attempts that failed so far. */
  provisionAttempts: Schema.Int
})
/** @category models @since 0.1.0 */
export type GrantProgress = typeof GrantProgress.Type

/**
 * A grant as the store holds it. The password is never part of it.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Grant = Schema.Struct({
  id: GrantId,
  kind: GrantKind,
  deviceId: DeviceId,
  regionId: RegionId,
  accessType: AccessType,
  permission: Permission,
  /** Canonical source CIDR allowed to connect. */
  source: Schema.String,
  actor: ActorId,
  createdAt: Timestamp,
  expiresAt: Timestamp,
  /** Name of the temporary device user (`ta-…`); for port forwards, the artifact tag. */
  username: Schema.String,
  endpoint: Endpoint,
  /** Where the regional server forwards to (device tunnel address and service port). */
  target: Target,
  /** For `port-forward` grants: the LAN host behind the router. */
  forward: Schema.NullOr(Target),
  state: GrantState,
  revokeReason: Schema.NullOr(RevokeReason),
  revokeRequestedAt: Schema.NullOr(Timestamp),
  revokedAt: Schema.NullOr(Timestamp),
  progress: GrantProgress,
  /** Bumped by every change (compare-and-set). */
  generation: Schema.Int,
  /** The region revision at which this grant was last changed (the regional fence). */
  revision: Schema.Int,
  /** Free-form label from the caller (shown in audit and comments are never built from it). */
  label: Schema.NullOr(Schema.String.check(Schema.isMaxLength(200)))
})
/** @category models @since 0.1.0 */
export type Grant = typeof Grant.Type

/**
 * Fields of a grant that a saga step may change.
 *
 * @category models
 * @since 0.1.0
 */
export interface GrantPatch {
  readonly state?: GrantState
  readonly revokeReason?: RevokeReason | null
  readonly revokeRequestedAt?: number | null
  readonly revokedAt?: number | null
  readonly expiresAt?: number
  readonly progress?: Partial<GrantProgress>
}

/**
 * Applies a patch to a grant (pure; the store bumps generation and revision itself).
 *
 * @category constructors
 * @since 0.1.0
 */
export const applyPatch = (grant: Grant, patch: GrantPatch): Grant => ({
  ...grant,
  ...(patch.state !== undefined ? { state: patch.state } : {}),
  ...(patch.revokeReason !== undefined ? { revokeReason: patch.revokeReason } : {}),
  ...(patch.revokeRequestedAt !== undefined ? { revokeRequestedAt: patch.revokeRequestedAt } : {}),
  ...(patch.revokedAt !== undefined ? { revokedAt: patch.revokedAt } : {}),
  ...(patch.expiresAt !== undefined ? { expiresAt: patch.expiresAt } : {}),
  progress: { ...grant.progress, ...patch.progress }
})

/**
 * The progress of a freshly created grant.
 *
 * @category constructors
 * @since 0.1.0
 */
export const initialProgress: GrantProgress = {
  natOpen: false,
  deviceReady: false,
  natGone: false,
  deviceGone: false,
  revokeAttempts: 0,
  revokeStuck: false,
  provisionAttempts: 0
}

/**
 * States that hold the grant's port (`pending`, `active`, `revoking`).
 *
 * @category models
 * @since 0.1.0
 */
export const portHoldingStates: ReadonlyArray<GrantState> = ["pending", "active", "revoking"]

/**
 * A grant is live while it is `pending` or `active` and not yet expired at `now`.
 * Only live grants may have artifacts created or enabled.
 *
 * @category guards
 * @since 0.1.0
 */
export const isLive = (grant: Grant, now: number): boolean =>
  (grant.state === "pending" || grant.state === "active") && grant.expiresAt > now

/**
 * The tag written into every artifact's comment: `ta:<grant id>`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const artifactTag = (grantId: GrantId): string => `ta:${grantId}`

const tagPattern = new RegExp(`^ta:(${idPatternSource})$`)

/**
 * Reads the grant id back from an artifact tag, if it is one of ours.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseArtifactTag = (comment: string): GrantId | undefined => {
  const match = tagPattern.exec(comment)
  return match ? (match[1] as GrantId) : undefined
}
