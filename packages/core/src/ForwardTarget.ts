/**
 * Where a port forward may point: the one owner of that rule, run by `Grants.grant` for
 * every embedder before anything is written.
 *
 * A target is accepted only when it is a unicast host of the device's NAT path family,
 * inside one of the LANs the directory lists for the device (`Device.lanAddresses`) or a
 * prefix the policy adds for it (`Policy.forwardAllowance`), and none of:
 *
 * | rule | refused |
 * | --- | --- |
 * | `Unparsable` | anything but canonical IPv4/IPv6 text |
 * | `FamilyMismatch` | an address of the other family than the device's tunnel address |
 * | `Unspecified` | `0.0.0.0`, `::` |
 * | `Loopback` | `127.0.0.0/8`, `::1` |
 * | `Multicast` | `224.0.0.0/4`, `ff00::/8` |
 * | `Broadcast` | `255.255.255.255`, and a LAN's network or broadcast address |
 * | `LinkLocal` | `169.254.0.0/16`, `fe80::/10` (the cloud metadata address among them) |
 * | `RouterAddress` | the router's own tunnel or LAN address, the regional server's tunnel address |
 * | `TunnelNetwork` | inside the region's management tunnel network |
 * | `Public` | a global unicast address, unless the policy allows public targets for the device |
 * | `NotInLan` | anything outside the device's LANs and the policy's prefixes |
 *
 * @since 0.2.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Cidr from "./Cidr.ts"
import type { Device, Region } from "./Topology.ts"

/**
 * The rule a refused target broke.
 *
 * @category models
 * @since 0.2.0
 */
export const Rule = Schema.Literals([
  "Unparsable",
  "FamilyMismatch",
  "Unspecified",
  "Loopback",
  "Multicast",
  "Broadcast",
  "LinkLocal",
  "RouterAddress",
  "TunnelNetwork",
  "Public",
  "NotInLan"
])
/** @category models @since 0.2.0 */
export type Rule = typeof Rule.Type

/**
 * A port-forward target the rules refuse; nothing was written.
 *
 * @category errors
 * @since 0.2.0
 */
export class ForwardTargetRefused extends Schema.TaggedError<ForwardTargetRefused>()("ForwardTargetRefused", {
  rule: Rule,
  address: Schema.String,
  message: Schema.String
}) {}

/**
 * What a policy adds for one device: more prefixes a forward may target, and whether
 * public (global unicast) targets are allowed.
 *
 * @category models
 * @since 0.2.0
 */
export interface Allowance {
  readonly extraPrefixes: ReadonlyArray<string>
  readonly allowPublic: boolean
}

/**
 * Nothing added: only the device's LANs, no public targets.
 *
 * @category constructors
 * @since 0.2.0
 */
export const noAllowance: Allowance = { extraPrefixes: [], allowPublic: false }

const refuse = (rule: Rule, address: string, message: string) =>
  Result.fail(new ForwardTargetRefused({ rule, address: address.slice(0, 64), message }))

/**
 * Checks a forward target for `device` in `region`; the canonical address when accepted.
 *
 * @category constructors
 * @since 0.2.0
 */
export const check = (
  address: string,
  device: Device,
  region: Region,
  allowance: Allowance = noAllowance
): Result.Result<string, ForwardTargetRefused> => {
  const canonical = Cidr.canonicalAddress(address)
  if (canonical === undefined || canonical !== address) {
    return refuse("Unparsable", address, "forward.address must be a canonical IPv4 or IPv6 address")
  }
  const family = Cidr.family(canonical)
  if (family !== Cidr.family(device.tunnelAddress)) {
    return refuse(
      "FamilyMismatch",
      canonical,
      `forward.address must be IPv${Cidr.family(device.tunnelAddress)}, like the device's NAT path`
    )
  }
  const kind = Cidr.classify(canonical)
  switch (kind) {
    case "unspecified":
      return refuse("Unspecified", canonical, "the unspecified address is not a host")
    case "loopback":
      return refuse("Loopback", canonical, "a loopback address would reach the router's own services")
    case "multicast":
      return refuse("Multicast", canonical, "a multicast group is not a host")
    case "broadcast":
      return refuse("Broadcast", canonical, "the broadcast address is not a host")
    case "linkLocal":
      return refuse("LinkLocal", canonical, "link-local addresses (and the metadata service among them) are not forwarded")
  }
  const lans = (device.lanAddresses ?? []).flatMap((text) => {
    const parsed = Cidr.parseInterfaceAddress(text)
    return parsed === undefined ? [] : [parsed]
  })
  const own = [device.tunnelAddress, region.tunnelAddress, ...lans.map((lan) => lan.address)].map((text) => Cidr.canonicalAddress(text))
  if (own.includes(canonical))
    return refuse("RouterAddress", canonical, "the router's (or the regional server's) own address is not a forward target")
  if (region.tunnelNetwork !== undefined && Cidr.contains(region.tunnelNetwork, canonical)) {
    return refuse("TunnelNetwork", canonical, "the management tunnel network is not a forward target")
  }
  // Overlapping LANs: the address must be a plain host of every LAN that holds it.
  const holding = lans.filter((candidate) => Cidr.contains(candidate.network.cidr, canonical))
  const reservedIn = holding.find((lan) => Cidr.reservedHostsOf(lan.network).includes(canonical))
  if (reservedIn !== undefined) {
    return refuse("Broadcast", canonical, `${canonical} is the network or broadcast address of ${reservedIn.network.cidr}`)
  }
  const inAllowance = allowance.extraPrefixes.some((prefix) => Cidr.contains(prefix, canonical))
  if (holding.length === 0 && !inAllowance) {
    return refuse("NotInLan", canonical, "forward.address is not inside a LAN the directory lists for this device")
  }
  if (kind === "public" && !allowance.allowPublic) {
    return refuse("Public", canonical, "public addresses are forwarded only where the policy allows them for the device")
  }
  return Result.succeed(canonical)
}
