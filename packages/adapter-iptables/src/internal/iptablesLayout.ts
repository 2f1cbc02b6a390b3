/**
 * The iptables rule layout, as text: what `iptables-restore --noflush` is fed and how
 * `iptables-save` output is read back. Pure functions; every value placed in a rule comes
 * from a validated path or region.
 *
 * Layout (prefix `TA` by default):
 * - nat: `PREROUTING -p tcp --dport <range> -j TA-DNAT` (first); `TA-DNAT` holds one DNAT
 *   rule per path (source CIDR, public port, `-m time --datestop` UTC, comment `ta:<grant>`).
 *   `POSTROUTING -j TA-SNAT` (first); `TA-SNAT` rewrites the source of DNATed flows of the
 *   range to the region's tunnel address, so the device answers through the tunnel.
 * - filter: `FORWARD -j TA-FORWARD` (first); `TA-FORWARD` jumps to `TA-GRANTS` (one ACCEPT
 *   per path, matched on the flow's original source, public port and reply tuple, with the
 *   same `--datestop`), then rejects with a TCP reset every other DNATed flow of the range:
 *   after a path's stop time or removal its established flows stop too.
 * - both tables: the regional fence is the name of an empty chain,
 *   `TA-R<revision>.<nonce>` (base 36), referenced from the never-jumped chain `TA-META`
 *   so that `iptables -S TA-META` reads it cheaply. Every batch renames the exact chain it
 *   read (`-E old new`): a batch prepared from stale state fails as a whole (compare and
 *   set). A rename, unlike a `-D`, does not make iptables-nft-restore fetch every rule of
 *   the table, so an open stays cheap with 10,000 paths.
 *
 * @since 0.1.0
 */
import { Grant, type Topology } from "@transient-access/core"
import { grantIdOfTag, type StoredPath, storedPath, type ValidPath } from "./path.ts"
import { baseTag } from "./tags.ts"

/** Chain names of one layout. */
export interface ChainNames {
  readonly dnat: string
  readonly snat: string
  readonly forward: string
  readonly grants: string
  readonly meta: string
  /** Prefix of the fence chain (`TA-R`). */
  readonly revisionPrefix: string
}

/** Chain names for a prefix (`TA` → `TA-DNAT`, …). */
export const chainNames = (prefix: string): ChainNames => ({
  dnat: `${prefix}-DNAT`,
  snat: `${prefix}-SNAT`,
  forward: `${prefix}-FORWARD`,
  grants: `${prefix}-GRANTS`,
  meta: `${prefix}-META`,
  revisionPrefix: `${prefix}-R`
})

/** Settings that shape the base rules. */
export interface LayoutSettings {
  readonly names: ChainNames
  readonly publicAddress: string | undefined
  /** Whether DNATed flows are source-NATed to the region's tunnel address. */
  readonly snat: boolean
}

/** One table as `iptables-save -t <table>` shows it. */
export interface TableDump {
  readonly chains: ReadonlySet<string>
  /** `-A …` lines, in order. */
  readonly rules: ReadonlyArray<string>
}

/** Splits a saved rule into words, honouring the double quotes `iptables-save` writes. */
export const words = (line: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g
  for (const match of line.matchAll(pattern)) out.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : (match[2] ?? ""))
  return out
}

/** Reads `iptables-save -t <table>` output. */
export const parseDump = (text: string): TableDump => {
  const chains = new Set<string>()
  const rules: Array<string> = []
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) chains.add(line.slice(1).split(" ")[0] ?? "")
    else if (line.startsWith("-A ")) rules.push(line)
  }
  return { chains, rules }
}

const chainOf = (line: string): string => line.split(" ")[1] ?? ""

/**
 * The option values of a saved rule (`--dport` → `40001`, `-s` → `10.0.0.0/24`, …);
 * the `ta:` and `ta-stop:` comments under their own keys.
 */
const options = (line: string): ReadonlyMap<string, string> => {
  const parts = words(line)
  const map = new Map<string, string>()
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] ?? ""
    const next = parts[index + 1]
    if (part === "--comment" && next !== undefined) map.set(next.startsWith("ta-stop:") ? "ta-stop" : "ta", next)
    else if (part.startsWith("-") && next !== undefined && !next.startsWith("-")) map.set(part, next)
  }
  return map
}

/** The exact stop time from the `ta-stop:` comment, else from `--datestop`. */
const stopAtOf = (values: ReadonlyMap<string, string>): number | undefined => {
  const exact = /^ta-stop:(\d+)$/.exec(values.get("ta-stop") ?? "")
  return exact ? Number(exact[1]) : fromDatestop(values.get("--datestop") ?? "")
}

/** The comments of a path's rules: the tag, then the exact stop time (the `--datestop` keeps whole seconds). */
const tags = (path: ValidPath): string =>
  `-m comment --comment "${Grant.artifactTag(path.grantId)}" -m comment --comment "ta-stop:${path.stopAt}"`

/** `YYYY-MM-DDThh:mm:ss` (UTC) of the last second in which a path with `stopAt` still matches. */
export const datestop = (stopAt: number): string => new Date((Math.ceil(stopAt / 1000) - 1) * 1000).toISOString().slice(0, 19)

const fromDatestop = (text: string): number | undefined => {
  const ms = Date.parse(`${text}Z`)
  return Number.isNaN(ms) ? undefined : ms + 1000
}

const hostCidr = (address: string): string => `${address}/${address.includes(":") ? 128 : 32}`

const endpoint = (address: string, port: number): string => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`)

const parseEndpoint = (text: string): { readonly address: string; readonly port: number } | undefined => {
  const match = /^\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/.exec(text)
  return match ? { address: match[1] ?? "", port: Number(match[2]) } : undefined
}

const stripHost = (cidr: string): string => cidr.replace(/\/(32|128)$/, "")

const rangeText = (region: Topology.Region): string => `${region.portRange.from}:${region.portRange.to}`

const publicMatch = (settings: LayoutSettings, option: "-d" | "--ctorigdst"): string =>
  settings.publicAddress === undefined
    ? ""
    : option === "-d"
      ? ` -d ${hostCidr(settings.publicAddress)}`
      : ` --ctorigdst ${settings.publicAddress}`

/** The rules each table must hold besides the paths, in `iptables-save` form. */
export const baseRules = (region: Topology.Region, settings: LayoutSettings) => {
  const { names } = settings
  const tag = baseTag(region, settings)
  const dnatState = `-p tcp -m conntrack --ctstate DNAT${publicMatch(settings, "--ctorigdst")} --ctorigdstport ${rangeText(region)}`
  return {
    nat: {
      hooks: [
        `-A PREROUTING${publicMatch(settings, "-d")} -p tcp -m tcp --dport ${rangeText(region)} -j ${names.dnat}`,
        `-A POSTROUTING -j ${names.snat}`
      ],
      own: settings.snat ? [`-A ${names.snat} ${dnatState} -m comment --comment "${tag}" -j SNAT --to-source ${region.tunnelAddress}`] : []
    },
    filter: {
      hooks: [`-A FORWARD -j ${names.forward}`],
      own: [
        `-A ${names.forward} -j ${names.grants}`,
        `-A ${names.forward} ${dnatState} -m comment --comment "${tag}" -j REJECT --reject-with tcp-reset`
      ]
    }
  }
}

/** The DNAT rule of a path. */
export const dnatRule = (path: ValidPath, settings: LayoutSettings): string =>
  `-A ${settings.names.dnat} -s ${path.source}${publicMatch(settings, "-d")} -p tcp -m tcp --dport ${path.publicPort}` +
  ` -m time --datestop ${datestop(path.stopAt)} ${tags(path)} -j DNAT --to-destination ${endpoint(path.targetAddress, path.targetPort)}`

/**
 * The forward ACCEPT rule of a path (both directions of its DNATed flows). A host source is
 * written without `/32` exactly as `iptables-save` prints it: iptables-nft stores the two
 * spellings differently, and a later `-D` must match the stored bytes.
 */
export const forwardRule = (path: ValidPath, settings: LayoutSettings): string =>
  `-A ${settings.names.grants} -p tcp -m conntrack --ctstate DNAT --ctorigsrc ${stripHost(path.source)}` +
  `${publicMatch(settings, "--ctorigdst")} --ctreplsrc ${path.targetAddress} --ctorigdstport ${path.publicPort}` +
  ` --ctreplsrcport ${path.targetPort} -m time --datestop ${datestop(path.stopAt)} ${tags(path)} -j ACCEPT`

/** The fence chain's name for a revision and nonce. */
export const revisionChain = (names: ChainNames, revision: number, nonce: number): string =>
  `${names.revisionPrefix}${revision.toString(36)}.${nonce.toString(36)}`

/** Reads a fence chain name back. */
const parseRevisionChain = (names: ChainNames, chain: string): number | undefined => {
  if (!chain.startsWith(names.revisionPrefix)) return undefined
  const match = /^([0-9a-z]+)\.([0-9a-z]+)$/.exec(chain.slice(names.revisionPrefix.length))
  return match ? Number.parseInt(match[1] ?? "", 36) : undefined
}

/** The fence of a table: its chain and revision, from a dump. */
export const parseFence = (dump: TableDump, names: ChainNames): { readonly chain: string; readonly revision: number } | undefined => {
  let best: { chain: string; revision: number } | undefined
  for (const chain of dump.chains) {
    const revision = parseRevisionChain(names, chain)
    if (revision !== undefined && (best === undefined || revision > best.revision)) best = { chain, revision }
  }
  return best
}

/** The revision from `iptables -S <meta>` output (`-A TA-META -j TA-R…`). */
export const parseMetaListing = (text: string, names: ChainNames): number => {
  for (const line of text.split("\n")) {
    const match = new RegExp(`^-A ${names.meta} -j (\\S+)$`).exec(line)
    const revision = match ? parseRevisionChain(names, match[1] ?? "") : undefined
    if (revision !== undefined) return revision
  }
  return 0
}

/** Restore lines that move the fence from `previous` (if any) to `next`. */
export const fenceLines = (names: ChainNames, previous: string | undefined, next: string): ReadonlyArray<string> =>
  previous === undefined ? [`-N ${next}`, `-A ${names.meta} -j ${next}`] : [`-E ${previous} ${next}`]

/** A path artifact read back from one rule. */
export interface Artifact {
  readonly line: string
  readonly path: StoredPath
}

/** Reads the DNAT rules of the layout. */
export const parseDnat = (dump: TableDump, names: ChainNames): ReadonlyArray<Artifact> =>
  dump.rules.flatMap((line) => {
    if (chainOf(line) !== names.dnat) return []
    const values = options(line)
    const grantId = grantIdOfTag(values.get("ta") ?? "")
    const target = parseEndpoint(values.get("--to-destination") ?? "")
    const stopAt = stopAtOf(values)
    if (grantId === undefined || target === undefined || stopAt === undefined) return []
    const path = storedPath({
      grantId,
      publicPort: Number(values.get("--dport")),
      source: values.get("-s") ?? "",
      targetAddress: target.address,
      targetPort: target.port,
      stopAt,
      dnat: true,
      forward: false
    })
    return path ? [{ line, path }] : []
  })

/** Reads the forward rules of the layout. */
export const parseForward = (dump: TableDump, names: ChainNames): ReadonlyArray<Artifact> =>
  dump.rules.flatMap((line) => {
    if (chainOf(line) !== names.grants) return []
    const values = options(line)
    const grantId = grantIdOfTag(values.get("ta") ?? "")
    const stopAt = stopAtOf(values)
    if (grantId === undefined || stopAt === undefined) return []
    const path = storedPath({
      grantId,
      publicPort: Number(values.get("--ctorigdstport")),
      source: values.get("--ctorigsrc") ?? "",
      targetAddress: stripHost(values.get("--ctreplsrc") ?? ""),
      targetPort: Number(values.get("--ctreplsrcport")),
      stopAt,
      dnat: false,
      forward: true
    })
    return path ? [{ line, path }] : []
  })

/** Lines of a restore batch that turn a saved `-A` rule into its deletion. */
export const deletion = (line: string): string => `-D${line.slice(2)}`
