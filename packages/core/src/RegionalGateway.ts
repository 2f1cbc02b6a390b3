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
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { PortNumber, Target, Timestamp } from "./Grant.ts"
import { GrantId, RegionId } from "./Ids.ts"
import type { RegionalGatewayError } from "./TargetError.ts"
import type { Region } from "./Topology.ts"
import * as Cidr from "./Cidr.ts"

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
export class RegionalGateway extends Context.Service<
  RegionalGateway,
  {
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
  }
>()("@transient-access/core/RegionalGateway") {}

const anySource: Cidr.CidrPolicy = { minPrefixV4: 0, minPrefixV6: 0, allowAnySource: true }

const decodePath = Schema.decodeUnknownExit(NatPath)

/**
 * Why a path is not acceptable for `region` (malformed, another region, a public port
 * outside the region's range, a source that is not a canonical CIDR, a target address that
 * is not canonical), or `undefined` when it is. Every regional adapter refuses such a path
 * with `Rejected` before touching anything. The source policy is the caller's business (the
 * saga applied it); here any canonical CIDR is accepted.
 *
 * @category guards
 * @since 0.1.0
 */
export const validatePath = (region: Region, path: NatPath): string | undefined => {
  const decoded = decodePath(path)
  if (Exit.isFailure(decoded)) {
    const error = Exit.findErrorOption(decoded)
    return `malformed path: ${error._tag === "Some" ? error.value.message : "invalid"}`
  }
  if (path.regionId !== region.id) return `path of region ${path.regionId} sent to region ${region.id}`
  if (path.publicPort < region.portRange.from || path.publicPort > region.portRange.to) {
    return `public port ${path.publicPort} is outside the region's range ${region.portRange.from}-${region.portRange.to}`
  }
  const source = Cidr.parseResult(path.source, anySource)
  if (Result.isFailure(source)) return `source ${JSON.stringify(path.source)}: ${source.failure.message}`
  if (source.success.cidr !== path.source) return `source ${JSON.stringify(path.source)} is not canonical (${source.success.cidr})`
  if (Cidr.canonicalAddress(path.target.address) !== path.target.address) {
    return `target address ${JSON.stringify(path.target.address)} is not a canonical address`
  }
  return undefined
}
