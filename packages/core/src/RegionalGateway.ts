/**
 * The regional gateway port: transient NAT paths on a regional server.
 *
 * A path forwards `publicPort` on the regional server to `target` (the device's tunnel
 * address and service port), only for packets from `source`, and carries its own stop
 * time (`stopAt`) so that it dies at expiry even if no close ever arrives — for new and
 * established flows.
 *
 * **The regional fence.** Every change carries the region revision at which the store
 * wrote it. The gateway records the highest revision it applied and refuses a change
 * whose revision is *older* (reason `StaleRevision`). A worker that paused after reading
 * a live grant therefore cannot reopen a path after a later revoke was applied.
 *
 * Contract (pinned by `RegionalGatewaySuite` in `@transient-access/core/testing`):
 * - `open` is idempotent for the same grant; a second grant on an occupied port is `Rejected`.
 * - `close` is idempotent ("not found" is success), removes everything of that grant, then
 *   cuts the established flows of its port.
 * - `list` returns every tagged path, including ones whose stop time has passed but that
 *   were not removed yet.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PortNumber, Target, Timestamp } from "./Grant.ts"
import { GrantId, RegionId } from "./Ids.ts"
import type { RegionalGatewayError } from "./TargetError.ts"
import type { Region } from "./Topology.ts"

/**
 * One transient NAT path.
 *
 * @category schemas
 * @since 0.1.0
 */
export const NatPath = Schema.Struct({
  grantId: GrantId,
  regionId: RegionId,
  publicPort: PortNumber,
  /** Canonical CIDR of the allowed sources. */
  source: Schema.String,
  target: Target,
  /** Epoch ms after which the kernel (or relay) stops forwarding, new and established flows. */
  stopAt: Timestamp
})
/** @category models @since 0.1.0 */
export type NatPath = typeof NatPath.Type

/**
 * The regional gateway port.
 *
 * @category services
 * @since 0.1.0
 */
export class RegionalGateway extends Context.Service<RegionalGateway, {
  /** Opens (or confirms) the path of a grant. */
  readonly open: (region: Region, path: NatPath, revision: number) => Effect.Effect<void, RegionalGatewayError>
  /** Removes the path of a grant and cuts its live flows. Absent paths are success. */
  readonly close: (
    region: Region,
    path: { readonly grantId: GrantId; readonly publicPort: number },
    revision: number
  ) => Effect.Effect<void, RegionalGatewayError>
  /** Lists every path this SDK made on the region's server. */
  readonly list: (region: Region) => Effect.Effect<ReadonlyArray<NatPath>, RegionalGatewayError>
  /** The highest revision the server recorded (the fence), 0 when none. */
  readonly revision: (region: Region) => Effect.Effect<number, RegionalGatewayError>
}>()("@transient-access/core/RegionalGateway") {}
