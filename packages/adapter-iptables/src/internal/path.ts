/**
 * Paths as the adapter handles them: validation of a `NatPath` against its region (only
 * canonical CIDRs and addresses, ports in range, one address family) and the shape in which
 * a path is read back from the server.
 *
 * @since 0.1.0
 */
import { Cidr, Grant, Ids, RegionalGateway, type Topology } from "@transient-access/core"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"

/**
 * A path that passed validation; every field is safe to place in a firewall command.
 */
export interface ValidPath {
  readonly grantId: Ids.GrantId
  readonly publicPort: number
  readonly family: 4 | 6
  /** Canonical CIDR, its network address and prefix length. */
  readonly source: string
  readonly network: string
  readonly prefixLength: number
  readonly targetAddress: string
  readonly targetPort: number
  readonly stopAt: number
}

/**
 * A path read back from the server. `dnat` and `forward` say which of its two artifacts
 * exist (a partial path is still listed so that it can be removed).
 */
export interface StoredPath extends ValidPath {
  readonly dnat: boolean
  readonly forward: boolean
}

/** Options that shape validation. */
export interface ValidationOptions {
  readonly policy: Cidr.CidrPolicy
  readonly publicAddress: string | undefined
}

const decodePath = Schema.decodeUnknownResult(RegionalGateway.NatPath)
const isGrantId = Schema.is(Ids.GrantId)

/** Longest grant id whose tags still fit in every comment field (nft: 128 bytes). */
export const maxGrantIdLength = 96

/**
 * Latest accepted stop time (epoch ms): iptables' `--datestop` ends at 2038-12-31T23:59:59
 * UTC, and a larger number would not even make a date. Both backends keep this bound.
 */
export const maxStopAt = Date.UTC(2039, 0, 1)

/** Checks a region's own fields (range and tunnel address). */
export const validateRegion = (region: Topology.Region, options: ValidationOptions): Result.Result<4 | 6, string> => {
  const { from, to } = region.portRange
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to > 65_535 || from > to) {
    return Result.fail(`region ${region.id} has an invalid port range ${from}-${to}`)
  }
  const family = Cidr.family(region.tunnelAddress)
  if (family === undefined || Cidr.canonicalAddress(region.tunnelAddress) !== region.tunnelAddress) {
    return Result.fail(`region ${region.id} tunnel address "${region.tunnelAddress}" is not a canonical address`)
  }
  if (options.publicAddress !== undefined && Cidr.family(options.publicAddress) !== family) {
    return Result.fail(`public address ${options.publicAddress} is not of the tunnel address family (IPv${family})`)
  }
  return Result.succeed(family)
}

/**
 * Validates a path for `region`; the message says what is wrong. `now` is epoch ms: a path
 * whose stop time has passed is refused.
 */
export const validate = (
  region: Topology.Region,
  input: RegionalGateway.NatPath,
  now: number,
  options: ValidationOptions
): Result.Result<ValidPath, string> => {
  const decoded = decodePath(input)
  if (Result.isFailure(decoded)) return Result.fail(`malformed path: ${decoded.failure.message}`)
  const path = decoded.success
  const regionFamily = validateRegion(region, options)
  if (Result.isFailure(regionFamily)) return Result.fail(regionFamily.failure)
  if (path.regionId !== region.id) return Result.fail(`path belongs to region ${path.regionId}, not ${region.id}`)
  if (path.grantId.length > maxGrantIdLength) return Result.fail(`grant id longer than ${maxGrantIdLength} characters`)
  if (path.publicPort < region.portRange.from || path.publicPort > region.portRange.to) {
    return Result.fail(`public port ${path.publicPort} is outside the region's range ${region.portRange.from}-${region.portRange.to}`)
  }
  const source = Cidr.parseResult(path.source, options.policy)
  if (Result.isFailure(source)) return Result.fail(`source ${JSON.stringify(path.source)}: ${source.failure.message}`)
  if (source.success.cidr !== path.source) {
    return Result.fail(`source ${JSON.stringify(path.source)} is not canonical (expected ${source.success.cidr})`)
  }
  const targetFamily = Cidr.family(path.target.address)
  if (targetFamily === undefined || Cidr.canonicalAddress(path.target.address) !== path.target.address) {
    return Result.fail(`target address ${JSON.stringify(path.target.address)} is not a canonical address`)
  }
  if (source.success.family !== targetFamily || targetFamily !== regionFamily.success) {
    return Result.fail(
      `address families differ: source IPv${source.success.family}, target IPv${targetFamily}, region tunnel IPv${regionFamily.success}`
    )
  }
  if (path.stopAt <= now) return Result.fail(`stop time ${path.stopAt} has already passed`)
  if (path.stopAt > maxStopAt) return Result.fail(`stop time ${path.stopAt} is after ${new Date(maxStopAt).toISOString()}`)
  return Result.succeed({
    grantId: path.grantId,
    publicPort: path.publicPort,
    family: targetFamily,
    source: source.success.cidr,
    network: source.success.network,
    prefixLength: source.success.prefixLength,
    targetAddress: path.target.address,
    targetPort: path.target.port,
    stopAt: path.stopAt
  })
}

/** Reads a tag back (`ta:<grant id>`), only if it names a valid grant id. */
export const grantIdOfTag = (tag: string): Ids.GrantId | undefined => {
  const id = Grant.parseArtifactTag(tag)
  return id !== undefined && isGrantId(id) ? id : undefined
}

/** Builds a stored path from text read back from the server, re-validating every field. */
export const storedPath = (fields: {
  readonly grantId: Ids.GrantId
  readonly publicPort: number
  readonly source: string
  readonly targetAddress: string
  readonly targetPort: number
  readonly stopAt: number
  readonly dnat: boolean
  readonly forward: boolean
}): StoredPath | undefined => {
  const source = Cidr.parseResult(fields.source, { minPrefixV4: 0, minPrefixV6: 0, allowAnySource: true })
  const targetFamily = Cidr.family(fields.targetAddress)
  const targetAddress = Cidr.canonicalAddress(fields.targetAddress)
  if (Result.isFailure(source) || targetFamily === undefined || targetAddress === undefined) return undefined
  if (!Number.isInteger(fields.publicPort) || !Number.isInteger(fields.targetPort)) return undefined
  return {
    ...fields,
    family: targetFamily,
    source: source.success.cidr,
    network: source.success.network,
    prefixLength: source.success.prefixLength,
    targetAddress
  }
}

/** Whether a stored path is exactly `path` (same port, source, target and stop time) and complete. */
export const isSamePath = (stored: StoredPath, path: ValidPath): boolean =>
  stored.dnat &&
  stored.forward &&
  stored.grantId === path.grantId &&
  stored.publicPort === path.publicPort &&
  stored.source === path.source &&
  stored.targetAddress === path.targetAddress &&
  stored.targetPort === path.targetPort &&
  stored.stopAt === path.stopAt

/** The port-facing view of a stored path. */
export const toNatPath = (region: Topology.Region, stored: StoredPath): RegionalGateway.NatPath => ({
  grantId: stored.grantId,
  regionId: region.id,
  publicPort: stored.publicPort,
  source: stored.source,
  target: { address: stored.targetAddress, port: stored.targetPort },
  stopAt: stored.stopAt
})
