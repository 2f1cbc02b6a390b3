/**
 * Source CIDR validation: the strict gate every address range passes before it reaches a
 * firewall rule, a relay or a RouterOS `address=` field.
 *
 * - IPv4 and IPv6; a bare address means `/32` or `/128`.
 * - Output is canonical text: IPv4 dotted decimal, IPv6 lower-case RFC 5952
 *   (`2001:db8::/48`), always with the prefix length. Only this text leaves the module.
 * - **Host bits set are rejected, not normalised** (`10.0.0.1/24` fails with "did you mean
 *   10.0.0.0/24?"): a caller who typed a host address with a network prefix may have meant
 *   either the host or the network, and silently widening a grant to 256 addresses is the
 *   worse guess.
 * - Rejected as ambiguous or dangerous: leading zeros in IPv4 octets (octal in some parsers,
 *   CVE-2021-28918), hexadecimal and short IPv4 forms (`0x7f.1`, `127.1`), whitespace, zone
 *   ids (`fe80::1%eth0`), more than one `/`, prefixes with a sign or leading zeros, IPv4
 *   written inside IPv6 (`::ffff:1.2.3.4`, `::1.2.3.4`), any IPv6 range inside or covering
 *   the IPv4-mapped block `::ffff:0:0/96` (such sources never appear on the wire, and on a
 *   dual-stack socket they are IPv4 clients), inputs over 64 characters.
 * - Never a source: the unspecified address and "this network" (`0.0.0.0/8`, `::/128`;
 *   RFC 1122 §3.2.1.3), the limited broadcast `255.255.255.255`, and multicast ranges
 *   (`224.0.0.0/4`, `ff00::/8`): no client connects from them.
 * - Policy: `0.0.0.0/0` and `::/0` only when `allowAnySource`; otherwise prefixes no
 *   shorter than `minPrefixV4` / `minPrefixV6`.
 *
 * The grammar is checked here, character by character; `ipaddr.js` then converts a
 * validated IPv6 text to its groups and formats RFC 5952 text.
 *
 * @since 0.1.0
 */
import ipaddr from "ipaddr.js"
import type * as Brand from "effect/Brand"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaGetter from "effect/SchemaGetter"
import * as SchemaIssue from "effect/SchemaIssue"

/**
 * A validated source range in canonical text, e.g. `203.0.113.0/24`, `2001:db8::/48`,
 * `198.51.100.7/32`.
 *
 * @category models
 * @since 0.1.0
 */
export type Cidr = string & Brand.Brand<"@transient-access/Cidr">

/**
 * Which ranges a deployment accepts as a grant's source.
 *
 * @category models
 * @since 0.1.0
 */
export interface CidrPolicy {
  /** Shortest IPv4 prefix accepted (except `/0` under `allowAnySource`). */
  readonly minPrefixV4: number
  /** Shortest IPv6 prefix accepted (except `/0` under `allowAnySource`). */
  readonly minPrefixV6: number
  /** Whether `0.0.0.0/0` and `::/0` are accepted. */
  readonly allowAnySource: boolean
}

/**
 * `/16` or narrower for IPv4, `/48` or narrower for IPv6, never "anywhere".
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultPolicy: CidrPolicy = { minPrefixV4: 16, minPrefixV6: 48, allowAnySource: false }

/** Accepts every well-formed range: used where a stored canonical range is only matched. */
const permissivePolicy: CidrPolicy = { minPrefixV4: 0, minPrefixV6: 0, allowAnySource: true }

/**
 * The input is not an acceptable CIDR; `message` says why and, where it can, what was meant.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidCidr extends Schema.TaggedError<InvalidCidr>()("InvalidCidr", {
  input: Schema.String,
  message: Schema.String
}) {}

/**
 * A validated range and its parts.
 *
 * @category models
 * @since 0.1.0
 */
export interface ParsedCidr {
  /** Canonical text, `network/prefixLength`. */
  readonly cidr: Cidr
  readonly family: 4 | 6
  /** Canonical text of the network address. */
  readonly network: string
  readonly prefixLength: number
}

// ---------------------------------------------------------------------------------------
// Grammar (internal). Each parser returns the address bytes, or a message saying why not.
// ---------------------------------------------------------------------------------------

const maxInputLength = 64

interface Address {
  readonly family: 4 | 6
  /** 4 or 16 bytes, network order. */
  readonly bytes: ReadonlyArray<number>
}

type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string }

const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
const bad = (message: string): Parsed<never> => ({ ok: false, message })

/** 0-999 without sign or leading zeros (IPv4 octets, prefix lengths). */
const plainDecimal = /^(?:0|[1-9][0-9]{0,2})$/
const hexGroup = /^[0-9a-fA-F]{1,4}$/

const parseIpv4 = (text: string): Parsed<Address> => {
  const octets = text.split(".")
  const hex = octets.find((octet) => /^0[xX]/.test(octet))
  if (hex !== undefined) return bad(`hexadecimal IPv4 octet "${hex}" is not accepted`)
  if (octets.length !== 4) {
    return bad(`IPv4 address must have exactly four decimal octets (short forms like 127.1 are not accepted)`)
  }
  const bytes: Array<number> = []
  for (const octet of octets) {
    if (/^0[0-9]/.test(octet)) {
      return bad(`leading zeros in IPv4 octet "${octet}" are not accepted (read as octal by some parsers)`)
    }
    if (!plainDecimal.test(octet)) return bad(`"${octet}" is not a decimal IPv4 octet`)
    const value = Number(octet)
    if (value > 255) return bad(`IPv4 octet ${octet} is out of range (0-255)`)
    bytes.push(value)
  }
  return ok({ family: 4, bytes })
}

const groupsValid = (groups: ReadonlyArray<string>): string | undefined => groups.find((group) => !hexGroup.test(group))

/**
 * Checks the RFC 4291 text grammar (at most one `::`, 1-4 hex digits per group, eight
 * groups in all, an optional dotted-quad tail counting as two) before `ipaddr.js` reads it.
 */
const parseIpv6 = (text: string): Parsed<Address> => {
  let body = text
  let hexText = text
  let tailGroups = 0
  const lastColon = text.lastIndexOf(":")
  const tail = text.slice(lastColon + 1)
  if (tail.includes(".")) {
    const embedded = parseIpv4(tail)
    if (!embedded.ok) return bad(`invalid IPv4 part "${tail}" in IPv6 address: ${embedded.message}`)
    body = text.slice(0, lastColon)
    if (body.endsWith(":")) body += ":" // keep a "::" that precedes the dotted tail
    tailGroups = 2
    // ipaddr.js reads "::a.b.c.d" as "::ffff:a.b.c.d"; RFC 4291 says it is "::" + a.b.c.d
    // in the last 32 bits, so the tail is handed over as two hex groups instead.
    const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = embedded.value.bytes
    hexText = `${text.slice(0, lastColon + 1)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`
  }
  const halves = body.split("::")
  if (halves.length > 2) return bad(`IPv6 address may contain "::" only once`)
  const split = (half: string): ReadonlyArray<string> => (half === "" ? [] : half.split(":"))
  if (halves.length === 2) {
    const groups = [...split(halves[0] ?? ""), ...split(halves[1] ?? "")]
    const invalid = groupsValid(groups)
    if (invalid !== undefined) return bad(`invalid IPv6 group "${invalid}"`)
    if (groups.length + tailGroups > 7) return bad(`IPv6 address has too many groups`)
  } else {
    const groups = split(body)
    const invalid = groupsValid(groups)
    if (invalid !== undefined) return bad(`invalid IPv6 group "${invalid}"`)
    if (groups.length + tailGroups !== 8) return bad(`IPv6 address must have eight groups or use "::"`)
  }
  try {
    return ok({ family: 6, bytes: ipaddr.IPv6.parse(hexText).toByteArray() })
  } catch {
    return bad(`not a valid IPv6 address`)
  }
}

/** Parses address text (no prefix) after the checks shared by addresses and ranges. */
const parseAddressText = (text: string): Parsed<Address> => {
  if (text === "") return bad("missing address")
  if (text.includes("%")) return bad(`zone ids ("%eth0") are not accepted`)
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text)
}

const commonChecks = (input: string): string | undefined => {
  if (input.length === 0) return "empty input"
  if (input.length > maxInputLength) return `longer than ${maxInputLength} characters`
  if (/\s/.test(input)) return "whitespace is not accepted"
  return undefined
}

const isMappedBlock = (bytes: ReadonlyArray<number>): boolean =>
  bytes.length === 16 && bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff

/** Keeps the first `prefixLength` bits of `bytes` and clears the rest. */
const maskBytes = (bytes: ReadonlyArray<number>, prefixLength: number): Array<number> =>
  bytes.map((byte, index) => {
    const bitsHere = Math.min(8, Math.max(0, prefixLength - index * 8))
    return bitsHere === 0 ? 0 : byte & (0xff << (8 - bitsHere)) & 0xff
  })

const formatAddress = (address: Address): string =>
  address.family === 4 ? address.bytes.join(".") : ipaddr.fromByteArray([...address.bytes]).toString() // IPv6#toString is RFC 5952

const mappedBlock: ReadonlyArray<number> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]

/** The IPv4 range an IPv4-mapped IPv6 range stands for, as a hint. */
const ipv4Hint = (bytes: ReadonlyArray<number>, prefixLength: number): string => {
  const v4Prefix = Math.max(0, prefixLength - 96)
  return `${formatAddress({ family: 4, bytes: maskBytes(bytes.slice(12), v4Prefix) })}/${v4Prefix}`
}

interface Network {
  readonly address: Address
  readonly prefixLength: number
}

const parseNetwork = (input: string, policy: CidrPolicy): Parsed<Network> => {
  if (typeof input !== "string") return bad("not a string")
  const common = commonChecks(input)
  if (common !== undefined) return bad(common)
  const pieces = input.split("/")
  if (pieces.length > 2) return bad(`more than one "/"`)
  const [addressText = "", prefixText] = pieces
  const address = parseAddressText(addressText)
  if (!address.ok) return address
  const { family, bytes } = address.value
  const maxPrefix = family === 4 ? 32 : 128
  let prefixLength = maxPrefix
  if (prefixText !== undefined) {
    if (prefixText === "") return bad(`missing prefix length after "/"`)
    if (!plainDecimal.test(prefixText)) {
      return bad(`prefix length "/${prefixText}" must be a decimal number without sign or leading zeros`)
    }
    prefixLength = Number(prefixText)
    if (prefixLength > maxPrefix) {
      return bad(`prefix length /${prefixText} is out of range for IPv${family} (0-${maxPrefix})`)
    }
  }
  if (family === 6 && addressText.includes(".")) {
    if (!isMappedBlock(bytes)) return bad(`dotted IPv4 notation inside an IPv6 address is not accepted; write hex groups`)
    return bad(
      `IPv4-mapped IPv6 addresses are not accepted; ${
        prefixLength >= 96 ? `use the IPv4 form ${ipv4Hint(bytes, prefixLength)}` : "use an IPv4 range"
      }`
    )
  }
  const network = maskBytes(bytes, prefixLength)
  if (network.some((byte, index) => byte !== bytes[index])) {
    return bad(`host bits set; did you mean ${formatAddress({ family, bytes: network })}/${prefixLength}?`)
  }
  if (prefixLength === 0) {
    return policy.allowAnySource
      ? ok({ address: { family, bytes: network }, prefixLength })
      : bad(`${family === 4 ? "0.0.0.0/0" : "::/0"} (any source) is not allowed by the policy`)
  }
  if (family === 6) {
    if (prefixLength >= 96 && isMappedBlock(network)) {
      return bad(`IPv4-mapped IPv6 ranges are not accepted; use the IPv4 form ${ipv4Hint(bytes, prefixLength)}`)
    }
    if (prefixLength < 96 && maskBytes(mappedBlock, prefixLength).every((byte, index) => byte === network[index])) {
      return bad(`range covers the IPv4-mapped block ::ffff:0:0/96; grant IPv4 clients an IPv4 range`)
    }
  }
  const minimum = family === 4 ? policy.minPrefixV4 : policy.minPrefixV6
  if (prefixLength < minimum) {
    return bad(`prefix /${prefixLength} is wider than the policy allows for IPv${family} (at least /${minimum})`)
  }
  return ok({ address: { family, bytes: network }, prefixLength })
}

/** Why a well-formed range can never be a connection's source, if it cannot. */
const notASource = ({ address, prefixLength }: Network): string | undefined => {
  const [first = 0] = address.bytes
  if (address.family === 4) {
    if (prefixLength >= 8 && first === 0) return '0.0.0.0/8 is the unspecified address and "this network": never a source'
    if (prefixLength === 32 && address.bytes.every((byte) => byte === 255))
      return "255.255.255.255 is the broadcast address: never a source"
    if (prefixLength >= 4 && first >= 224 && first <= 239) return "multicast addresses (224.0.0.0/4) are never a source"
    return undefined
  }
  if (prefixLength === 128 && address.bytes.every((byte) => byte === 0)) return ":: is the unspecified address: never a source"
  if (prefixLength >= 8 && first === 0xff) return "multicast addresses (ff00::/8) are never a source"
  return undefined
}

const toParsedCidr = ({ address, prefixLength }: Network): ParsedCidr => {
  const network = formatAddress(address)
  return { cidr: `${network}/${prefixLength}` as Cidr, family: address.family, network, prefixLength }
}

/** Strict address parse with IPv4-mapped IPv6 folded to IPv4. */
const parseHostAddress = (input: string): Address | undefined => {
  if (typeof input !== "string" || commonChecks(input) !== undefined || input.includes("/")) return undefined
  const parsed = parseAddressText(input)
  if (!parsed.ok) return undefined
  const { bytes } = parsed.value
  return isMappedBlock(bytes) ? { family: 4, bytes: bytes.slice(12) } : parsed.value
}

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/**
 * Validates and canonicalises a source range under `policy` (default {@link defaultPolicy}),
 * synchronously.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseResult = (input: string, policy: CidrPolicy = defaultPolicy): Result.Result<ParsedCidr, InvalidCidr> => {
  const parsed = parseNetwork(input, policy)
  const refused = parsed.ok ? notASource(parsed.value) : undefined
  if (parsed.ok && refused === undefined) return Result.succeed(toParsedCidr(parsed.value))
  const shown = typeof input === "string" ? input.slice(0, maxInputLength + 1) : String(input)
  return Result.fail(new InvalidCidr({ input: shown, message: refused ?? (parsed.ok ? "invalid" : parsed.message) }))
}

/**
 * Validates and canonicalises a source range under `policy` (default {@link defaultPolicy}).
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (input: string, policy: CidrPolicy = defaultPolicy): Effect.Effect<ParsedCidr, InvalidCidr> =>
  Effect.fromResult(parseResult(input, policy))

/**
 * Strict canonical text of a single address, or `undefined` if it is not one. An
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, as dual-stack sockets report IPv4 peers)
 * becomes its IPv4 text; other IPv6 addresses become RFC 5952 text.
 *
 * @category utils
 * @since 0.1.0
 */
export const canonicalAddress = (address: string): string | undefined => {
  const parsed = parseHostAddress(address)
  return parsed === undefined ? undefined : formatAddress(parsed)
}

/**
 * The family of an address as {@link canonicalAddress} reads it (`::ffff:1.2.3.4` is 4).
 *
 * @category utils
 * @since 0.1.0
 */
export const family = (address: string): 4 | 6 | undefined => parseHostAddress(address)?.family

/**
 * Whether `address` lies in `cidr`. `cidr` must be well-formed (host bits clear; any
 * prefix length, `/0` included); `address` is read as {@link canonicalAddress} reads it,
 * so `::ffff:10.0.0.7` matches `10.0.0.0/8` and never an IPv6 range. `false` for any
 * unparsable input.
 *
 * @category utils
 * @since 0.1.0
 */
export const contains = (cidr: string, address: string): boolean => {
  const network = parseNetwork(cidr, permissivePolicy)
  const host = parseHostAddress(address)
  if (!network.ok || host === undefined || host.family !== network.value.address.family) return false
  const masked = maskBytes(host.bytes, network.value.prefixLength)
  return masked.every((byte, index) => byte === network.value.address.bytes[index])
}

/**
 * A stored {@link Cidr}: accepts only text that is already canonical and well-formed
 * under any policy (for database rows and messages, not for user input).
 *
 * @category schemas
 * @since 0.1.0
 */
export const Cidr = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((value: string) => {
      const parsed = parseNetwork(value, permissivePolicy)
      if (!parsed.ok) return parsed.message
      return toParsedCidr(parsed.value).cidr === value || "not in canonical form"
    })
  ),
  Schema.brand("@transient-access/Cidr")
)

/**
 * A schema from user input (`string`) to a canonical {@link Cidr}, validated under `policy`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const makeCidrSchema = (policy: CidrPolicy) =>
  Schema.String.pipe(
    Schema.decodeTo(Cidr, {
      decode: SchemaGetter.transformEffect((input: string, options) => {
        const parsed = parseResult(input, policy)
        return Result.isSuccess(parsed)
          ? Effect.succeed(parsed.success.cidr)
          : Effect.fail(new SchemaIssue.InvalidValue({ message: parsed.failure.message }, input, options))
      }),
      encode: SchemaGetter.passthrough()
    })
  )

/**
 * User input (`string`, e.g. an HTTP body field) to a canonical {@link Cidr} under
 * {@link defaultPolicy}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CidrSchema = makeCidrSchema(defaultPolicy)

/**
 * What an address is, by the IANA special-purpose registries (as `ipaddr.js` classifies
 * them): `public` is a global unicast address; `private` covers RFC 1918, unique local
 * (`fc00::/7`) and shared (`100.64.0.0/10`) space; `reserved` the documentation,
 * benchmarking and other special-purpose blocks.
 *
 * @category models
 * @since 0.2.0
 */
export type AddressClass = "unspecified" | "loopback" | "multicast" | "broadcast" | "linkLocal" | "private" | "reserved" | "public"

const privateRanges = new Set(["private", "uniqueLocal", "carrierGradeNat"])
const ownClasses = new Set<string>(["unspecified", "loopback", "multicast", "broadcast", "linkLocal"])

/**
 * The {@link AddressClass} of a single address (read as {@link canonicalAddress} reads it),
 * or `undefined` when it is not one.
 *
 * @category utils
 * @since 0.2.0
 */
export const classify = (address: string): AddressClass | undefined => {
  const host = parseHostAddress(address)
  if (host === undefined) return undefined
  const range = ipaddr.fromByteArray([...host.bytes]).range()
  if (ownClasses.has(range)) return range as AddressClass
  if (privateRanges.has(range)) return "private"
  return range === "unicast" ? "public" : "reserved"
}

/**
 * A router's interface address as RouterOS `/ip address` lists it: the router's own
 * address and the prefix length of the network it sits on (`192.168.88.1/24`,
 * `2001:db8:5::1/64`); host bits are expected.
 *
 * @category models
 * @since 0.2.0
 */
export interface InterfaceAddress {
  /** The router's own address, canonical text. */
  readonly address: string
  /** The network, canonical. */
  readonly network: ParsedCidr
}

/**
 * Parses an interface address (`192.168.88.1/24`), or `undefined` when it is not one.
 *
 * @category constructors
 * @since 0.2.0
 */
export const parseInterfaceAddress = (input: string): InterfaceAddress | undefined => {
  if (typeof input !== "string" || commonChecks(input) !== undefined) return undefined
  const pieces = input.split("/")
  if (pieces.length !== 2) return undefined
  const [addressText = "", prefixText = ""] = pieces
  const host = parseHostAddress(addressText)
  if (host === undefined || formatAddress(host) !== addressText || !plainDecimal.test(prefixText)) return undefined
  const prefixLength = Number(prefixText)
  if (prefixLength < 1 || prefixLength > (host.family === 4 ? 32 : 128)) return undefined
  const network: Network = { address: { family: host.family, bytes: maskBytes(host.bytes, prefixLength) }, prefixLength }
  return { address: addressText, network: toParsedCidr(network) }
}

/**
 * The IPv4 network and broadcast addresses of a prefix of /30 or wider (no host may use
 * them); empty for IPv6 and for /31 and /32.
 *
 * @category utils
 * @since 0.2.0
 */
export const reservedHostsOf = (network: ParsedCidr): ReadonlyArray<string> => {
  if (network.family !== 4 || network.prefixLength > 30) return []
  const parsed = parseHostAddress(network.network)
  if (parsed === undefined) return []
  const broadcast = parsed.bytes.map((byte, index) => {
    const hostBits = Math.max(0, Math.min(8, (index + 1) * 8 - network.prefixLength))
    return byte | ((1 << hostBits) - 1)
  })
  return [network.network, formatAddress({ family: 4, bytes: broadcast })]
}
