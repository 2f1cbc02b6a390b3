/**
 * The comments both layouts write besides core's grant tag (`Grant.artifactTag`): the tag of
 * the base rules, which changes whenever what they encode (range, SNAT address, public
 * address) changes, so that a stale layout is rewritten.
 *
 * @since 0.1.0
 */
import type { Topology } from "@transient-access/core"

/** The comment that marks the base rules of a region's layout. */
export const baseTag = (
  region: Topology.Region,
  settings: { readonly snat: boolean; readonly publicAddress: string | undefined }
): string =>
  `ta-base:${region.portRange.from}-${region.portRange.to}:${settings.snat ? region.tunnelAddress : "nosnat"}:${
    settings.publicAddress ?? "any"
  }`
