/**
 * The nftables layout, as `nft -f` script text and as read back from `nft -j list table`.
 * Pure functions; only validated values (canonical addresses, integers, grant ids of the
 * restricted id alphabet) are placed in the script.
 *
 * Layout (table `ip transient_access` or `ip6 …`, owned entirely by the SDK):
 * - `map dnat_<len>` per source prefix length in use: `saddr & mask . tcp dport` →
 *   `device address . port`, `flags timeout`; each element carries the path's remaining
 *   lifetime as `timeout` and `ta:<grant>` as comment. Hash lookups: the cost of a change
 *   and of a first packet stay flat with the number of paths.
 * - `set live` of public ports (`flags timeout`, same timeout, comment `ta:<grant>`).
 * - `set paths`: the record of each path (`port . network . prefix length . target . port`,
 *   comment `ta:<grant>;stop=<epoch ms>`). The kernel drops the two elements above at the
 *   stop time; the record stays until `close` (or 24 h after the stop time as a leak
 *   guard), so `list` keeps showing expired paths until they are removed.
 * - chain `prerouting` (nat): one `dnat … map @dnat_<len>` rule per map, restricted to the
 *   region's port range; chain `forward` (filter): DNATed flows of the range are accepted
 *   while their original public port is in `@live` and reset otherwise; chain
 *   `postrouting` (nat): DNATed flows of the range are source-NATed to the tunnel address.
 * - `set revs`: one element `<nonce>` with comment `ta-rev:<revision>` (the regional fence);
 *   every batch deletes the exact previous element, so a batch built on stale state fails
 *   as a whole (compare and set).
 *
 * @since 0.1.0
 */
import { Grant, type Topology } from "@transient-access/core"
import * as Schema from "effect/Schema"
import { grantIdOfTag, type StoredPath, storedPath, type ValidPath } from "./path.ts"
import { baseTag } from "./tags.ts"

/** Settings that shape the script. */
export interface NftSettings {
  readonly table: string
  readonly publicAddress: string | undefined
  readonly snat: boolean
}

/** `ip` or `ip6`, from the region's tunnel address. */
export const familyOf = (region: Topology.Region): "ip" | "ip6" => (region.tunnelAddress.includes(":") ? "ip6" : "ip")

const maxPrefix = (family: "ip" | "ip6") => (family === "ip" ? 32 : 128)

/** The netmask of a prefix length, as address text. */
export const maskText = (family: "ip" | "ip6", prefixLength: number): string => {
  const bytes = Array.from({ length: family === "ip" ? 4 : 16 }, (_, index) => {
    const bits = Math.min(8, Math.max(0, prefixLength - index * 8))
    return bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff
  })
  if (family === "ip") return bytes.join(".")
  const groups = Array.from({ length: 8 }, (_, index) => (((bytes[index * 2] ?? 0) << 8) | (bytes[index * 2 + 1] ?? 0)).toString(16))
  return groups.join(":")
}

/** Quotes a comment; the text is built only from the id alphabet, digits, `:`, `;`, `=`, `-`, `.`. */
const comment = (text: string): string => {
  if (!/^[A-Za-z0-9._:;=-]{1,128}$/.test(text)) throw new Error("comment outside the allowed alphabet")
  return `"${text}"`
}

const base = (region: Topology.Region, settings: NftSettings) => {
  const family = familyOf(region)
  const range = `${region.portRange.from}-${region.portRange.to}`
  const tag = baseTag(region, settings)
  const publicDaddr = settings.publicAddress === undefined ? "" : ` ${family} daddr ${settings.publicAddress}`
  const publicCt = settings.publicAddress === undefined ? "" : ` ct original ${family} daddr ${settings.publicAddress}`
  const dnatFlows = `meta l4proto tcp ct status dnat${publicCt} ct original proto-dst ${range}`
  return { family, range, tag, publicDaddr, dnatFlows }
}

const prefixRule = (region: Topology.Region, settings: NftSettings, prefixLength: number): string => {
  const { family, range, tag, publicDaddr } = base(region, settings)
  const address = prefixLength === maxPrefix(family) ? `${family} saddr` : `${family} saddr & ${maskText(family, prefixLength)}`
  return `add rule ${family} ${settings.table} prerouting${publicDaddr} tcp dport ${range} dnat ${family} to ${address} . tcp dport map @dnat_${prefixLength} comment ${comment(
    `${tag}:${prefixLength}`
  )}`
}

const addressType = (family: "ip" | "ip6") => (family === "ip" ? "ipv4_addr" : "ipv6_addr")

/** Script that creates a prefix map and its rule. */
export const addPrefixMap = (region: Topology.Region, settings: NftSettings, prefixLength: number): ReadonlyArray<string> => {
  const family = familyOf(region)
  const type = `${addressType(family)} . inet_service`
  return [
    `add map ${family} ${settings.table} dnat_${prefixLength} { type ${type} : ${type}; flags timeout; }`,
    prefixRule(region, settings, prefixLength)
  ]
}

/**
 * Script that creates the table (when `create`) or rewrites its base chains, with a rule
 * for every prefix map in `prefixes`.
 */
export const baseScript = (
  region: Topology.Region,
  settings: NftSettings,
  create: boolean,
  prefixes: ReadonlyArray<number>
): ReadonlyArray<string> => {
  const { family, tag, dnatFlows } = base(region, settings)
  const table = `${family} ${settings.table}`
  const head = create
    ? [
        `create table ${table}`,
        `add set ${table} revs { type mark; }`,
        `add set ${table} live { type inet_service; flags timeout; }`,
        `add set ${table} paths { type inet_service . ${addressType(family)} . mark . ${addressType(family)} . inet_service; flags timeout; }`,
        `add chain ${table} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
        `add chain ${table} forward { type filter hook forward priority filter; policy accept; }`,
        `add chain ${table} postrouting { type nat hook postrouting priority srcnat; policy accept; }`
      ]
    : [`flush chain ${table} prerouting`, `flush chain ${table} forward`, `flush chain ${table} postrouting`]
  return [
    ...head,
    `add rule ${table} forward ${dnatFlows} ct original proto-dst @live accept comment ${comment(tag)}`,
    `add rule ${table} forward ${dnatFlows} reject with tcp reset comment ${comment(tag)}`,
    ...(settings.snat
      ? [`add rule ${table} postrouting ${dnatFlows} snat ${family} to ${region.tunnelAddress} comment ${comment(tag)}`]
      : []),
    ...prefixes.flatMap((prefixLength) =>
      create ? addPrefixMap(region, settings, prefixLength) : [prefixRule(region, settings, prefixLength)]
    )
  ]
}

/** How long a path's record outlives its stop time when nobody closes it. */
export const recordGraceMs = 24 * 3_600_000

const recordKey = (path: ValidPath): string =>
  `${path.publicPort} . ${path.network} . ${path.prefixLength} . ${path.targetAddress} . ${path.targetPort}`

/**
 * A duration in nft's `1d3h46m40s5ms` form. nft refuses a unit count of nine digits or more
 * ("value too large": `100000000ms` fails where `1d3h46m40s` passes), so a plain `<n>ms`
 * breaks every timeout beyond 27.7 h — the record's, with its 24 h grace, after 3.8 h.
 */
export const nftDuration = (ms: number): string => {
  const units: ReadonlyArray<readonly [string, number]> = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1]
  ]
  let rest = ms
  const parts = units.flatMap(([unit, size]) => {
    const count = Math.floor(rest / size)
    rest -= count * size
    return count > 0 ? [`${count}${unit}`] : []
  })
  return parts.length > 0 ? parts.join("") : "0ms"
}

/** Script lines that add a path (its map must exist). `timeoutMs` is its remaining lifetime. */
export const addPath = (region: Topology.Region, settings: NftSettings, path: ValidPath, timeoutMs: number): ReadonlyArray<string> => {
  const table = `${familyOf(region)} ${settings.table}`
  const lifetime = Math.max(1, Math.ceil(timeoutMs))
  const timeout = `timeout ${nftDuration(lifetime)}`
  const tag = comment(Grant.artifactTag(path.grantId))
  return [
    `add element ${table} paths { ${recordKey(path)} timeout ${nftDuration(lifetime + recordGraceMs)} comment ${comment(
      `${Grant.artifactTag(path.grantId)};stop=${path.stopAt}`
    )} }`,
    `add element ${table} dnat_${path.prefixLength} { ${path.network} . ${path.publicPort} ${timeout} comment ${tag} : ${path.targetAddress} . ${path.targetPort} }`,
    `add element ${table} live { ${path.publicPort} ${timeout} comment ${tag} }`
  ]
}

/** Script lines that remove what exists of a path. */
export const removePath = (region: Topology.Region, settings: NftSettings, path: StoredPath): ReadonlyArray<string> => {
  const table = `${familyOf(region)} ${settings.table}`
  return [
    `delete element ${table} paths { ${recordKey(path)} }`,
    ...(path.dnat ? [`delete element ${table} dnat_${path.prefixLength} { ${path.network} . ${path.publicPort} }`] : []),
    ...(path.forward ? [`delete element ${table} live { ${path.publicPort} }`] : [])
  ]
}

/** Script lines that swap the fence element. */
export const swapRevision = (
  region: Topology.Region,
  settings: NftSettings,
  previousNonce: number | undefined,
  revision: number,
  nonce: number
): ReadonlyArray<string> => {
  const table = `${familyOf(region)} ${settings.table}`
  return [
    ...(previousNonce === undefined ? [] : [`delete element ${table} revs { ${previousNonce} }`]),
    `add element ${table} revs { ${nonce} comment ${comment(`ta-rev:${revision}`)} }`
  ]
}

// ----------------------------------------------------------------------------------------
// Reading `nft -j list table` back
// ----------------------------------------------------------------------------------------

const Scalar = Schema.Union([Schema.String, Schema.Number])
const Concat = Schema.Struct({ concat: Schema.Array(Scalar) })
const ElemInfo = Schema.Struct({
  val: Schema.Union([Scalar, Concat]),
  comment: Schema.optional(Schema.String),
  expires: Schema.optional(Schema.Number)
})
const Element = Schema.Union([Scalar, Concat, Schema.Struct({ elem: ElemInfo })])
const SetLike = Schema.Struct({
  name: Schema.String,
  elem: Schema.optional(Schema.Array(Schema.Union([Element, Schema.Tuple([Element, Schema.Union([Scalar, Concat])])])))
})
const RuleItem = Schema.Struct({ chain: Schema.String, comment: Schema.optional(Schema.String) })
const Listing = Schema.Struct({ nftables: Schema.Array(Schema.Unknown) })
const isSetItem = Schema.is(Schema.Struct({ set: SetLike }))
const isMapItem = Schema.is(Schema.Struct({ map: SetLike }))
const isRuleItem = Schema.is(Schema.Struct({ rule: RuleItem }))

/** The decoded listing of the SDK's table. */
export interface TableState {
  readonly revision: number
  readonly nonce: number | undefined
  readonly prefixes: ReadonlyArray<number>
  readonly paths: ReadonlyArray<StoredPath>
  /** Comments of the base rules, per chain. */
  readonly ruleComments: ReadonlyArray<{ readonly chain: string; readonly comment: string | undefined }>
}

type ElementInfo = {
  readonly key: ReadonlyArray<string | number>
  readonly comment: string | undefined
  readonly data: ReadonlyArray<string | number>
}

const flatten = (value: typeof Scalar.Type | typeof Concat.Type): ReadonlyArray<string | number> =>
  typeof value === "object" ? value.concat : [value]

const elementsOf = (set: typeof SetLike.Type): ReadonlyArray<ElementInfo> =>
  (set.elem ?? []).map((entry) => {
    const [element, data] = Array.isArray(entry) ? entry : [entry, undefined]
    const info = typeof element === "object" && "elem" in element ? element.elem : { val: element, comment: undefined }
    return {
      key: flatten(info.val),
      comment: info.comment,
      data: data === undefined ? [] : flatten(data)
    }
  })

const decodeListing = Schema.decodeUnknownResult(Schema.fromJsonString(Listing))

/** Reads `nft -j list table` output; `undefined` when it does not decode. */
export const parseListing = (json: string): TableState | undefined => {
  const decoded = decodeListing(json)
  if (decoded._tag === "Failure") return undefined
  let revision = 0
  let nonce: number | undefined
  const prefixes: Array<number> = []
  const records: Array<StoredPath> = []
  const dnat = new Map<string, string>()
  const live = new Map<number, string>()
  const ruleComments: Array<{ chain: string; comment: string | undefined }> = []
  for (const item of decoded.success.nftables) {
    if (isRuleItem(item)) {
      ruleComments.push({ chain: item.rule.chain, comment: item.rule.comment })
      continue
    }
    const set = isSetItem(item) ? item.set : isMapItem(item) ? item.map : undefined
    if (set === undefined) continue
    const prefixMatch = /^dnat_(\d+)$/.exec(set.name)
    for (const element of elementsOf(set)) {
      if (set.name === "revs") {
        const match = /^ta-rev:(\d+)$/.exec(element.comment ?? "")
        if (match) {
          revision = Number(match[1])
          nonce = Number(element.key[0])
        }
      } else if (set.name === "live") {
        const grantId = grantIdOfTag(element.comment ?? "")
        if (grantId !== undefined) live.set(Number(element.key[0]), grantId)
      } else if (prefixMatch) {
        const grantId = grantIdOfTag(element.comment ?? "")
        if (grantId !== undefined) dnat.set(`${element.key[0]}/${prefixMatch[1]}|${element.key[1]}`, grantId)
      } else if (set.name === "paths") {
        const tag = /^(ta:[^;]+);stop=(\d+)$/.exec(element.comment ?? "")
        const grantId = grantIdOfTag(tag?.[1] ?? "")
        const [port, network, prefixLength, targetAddress, targetPort] = element.key
        if (tag === null || grantId === undefined) continue
        const path = storedPath({
          grantId,
          publicPort: Number(port),
          source: `${network}/${Number(prefixLength)}`,
          targetAddress: String(targetAddress),
          targetPort: Number(targetPort),
          stopAt: Number(tag[2]),
          dnat: false,
          forward: false
        })
        if (path) records.push(path)
      }
    }
    if (prefixMatch) prefixes.push(Number(prefixMatch[1]))
  }
  const paths = records.map((path) => ({
    ...path,
    dnat: dnat.get(`${path.source}|${path.publicPort}`) === path.grantId,
    forward: live.get(path.publicPort) === path.grantId
  }))
  return { revision, nonce, prefixes, paths, ruleComments }
}
