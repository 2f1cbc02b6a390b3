/**
 * The device gateway port: transient users and port forwards on a router.
 *
 * **The device fence.** Users are created **disabled**, under a unique name that is never
 * reused (`ta-…`); forwards are created **disabled** too, tagged by their grant id (never
 * reused). The saga re-checks the grant with its row locked and only then enables the user
 * by name or the forward by grant id, so a late create stays disabled (and is reconciled
 * away) and a late enable finds nothing. Every artifact carries the tag `ta:<grant id>` in its comment and
 * a device-side expiry (on RouterOS, a scheduler entry) so it dies at `expiresAt` even when
 * the control plane is unreachable.
 *
 * Contract (pinned by `DeviceGatewaySuite` in `@transient-access/core/testing`):
 * - `createUser` creates the user disabled; repeating it for the same grant and name is
 *   success; it never enables.
 * - `enableUser` fails with `NotFound` when the user does not exist.
 * - `openForward` creates the forward disabled; repeating it for the same grant is success
 *   (an enabled forward stays enabled); it never enables.
 * - `enableForward` fails with `NotFound` when the grant has no forward.
 * - `removeUser` / `closeForward` are idempotent, end live sessions, and remove the
 *   device-side expiry entry too.
 * - `inventory` lists every tagged user and forward, including disabled ones, with their
 *   `disabled` flag.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Permission, PortNumber, Target, Timestamp } from "./Grant.ts"
import { GrantId } from "./Ids.ts"
import type { DeviceGatewayError } from "./TargetError.ts"
import type { Device } from "./Topology.ts"

/**
 * What to create on the device for an `access` grant.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceUserSpec {
  readonly grantId: GrantId
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly permission: Permission
  /** The only source address allowed to log in (the regional server's tunnel address). */
  readonly allowedAddress: string
  readonly expiresAt: number
}

/**
 * A temporary user as listed by the device.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DeviceUser = Schema.Struct({
  username: Schema.String,
  /** The grant id read back from the comment tag, when present. */
  grantId: Schema.NullOr(GrantId),
  disabled: Schema.Boolean,
  permission: Schema.NullOr(Permission)
})
/** @category models @since 0.1.0 */
export type DeviceUser = typeof DeviceUser.Type

/**
 * What to open on the device for a `port-forward` grant: packets from `allowedAddress` to
 * the device's tunnel address on `listenPort` are sent to `to` (a LAN host).
 *
 * @category schemas
 * @since 0.2.0
 */
export const DeviceForwardSpec = Schema.Struct({
  grantId: GrantId,
  listenPort: PortNumber,
  to: Target,
  allowedAddress: Schema.String,
  expiresAt: Timestamp
})
/** @category models @since 0.2.0 */
export type DeviceForwardSpec = typeof DeviceForwardSpec.Type

/**
 * A transient port forward as listed by the device: its spec and whether it is disabled
 * (a disabled forward passes no traffic).
 *
 * @category schemas
 * @since 0.1.0
 */
export const DeviceForward = Schema.Struct({
  ...DeviceForwardSpec.fields,
  disabled: Schema.Boolean
})
/** @category models @since 0.1.0 */
export type DeviceForward = typeof DeviceForward.Type

/**
 * Everything the SDK made on a device.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceInventory {
  readonly users: ReadonlyArray<DeviceUser>
  readonly forwards: ReadonlyArray<DeviceForward>
}

/**
 * The device gateway port.
 *
 * @category services
 * @since 0.1.0
 */
export class DeviceGateway extends Context.Service<
  DeviceGateway,
  {
    /** Creates the user **disabled**, with its device-side expiry. */
    readonly createUser: (device: Device, spec: DeviceUserSpec) => Effect.Effect<void, DeviceGatewayError>
    /** Enables a user created by `createUser`; `NotFound` when it does not exist. */
    readonly enableUser: (device: Device, username: string) => Effect.Effect<void, DeviceGatewayError>
    /** Ends the user's sessions and removes it and its expiry entry. Absent is success. */
    readonly removeUser: (device: Device, username: string) => Effect.Effect<void, DeviceGatewayError>
    /**
     * Creates a transient dst-nat forward **disabled**, with its device-side expiry.
     * Idempotent per grant; never enables.
     */
    readonly openForward: (device: Device, forward: DeviceForwardSpec) => Effect.Effect<void, DeviceGatewayError>
    /** Enables the forward of a grant opened by `openForward`; `NotFound` when it does not exist. */
    readonly enableForward: (device: Device, grantId: GrantId) => Effect.Effect<void, DeviceGatewayError>
    /** Removes the forward of a grant. Absent is success. */
    readonly closeForward: (device: Device, grantId: GrantId) => Effect.Effect<void, DeviceGatewayError>
    /** Lists every tagged user and forward. */
    readonly inventory: (device: Device) => Effect.Effect<DeviceInventory, DeviceGatewayError>
  }
>()("@transient-access/core/DeviceGateway") {}
