/**
 * The relay's source check: may a socket's remote address use a path whose source is a
 * canonical CIDR? IPv4-mapped IPv6 socket addresses (`::ffff:a.b.c.d`, what a dual-stack
 * listener reports for IPv4 clients) are matched as the IPv4 address they carry.
 *
 * @since 0.1.0
 */
import * as Net from "node:net"

const mappedPrefix = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** The address a socket reports, with IPv4-mapped IPv6 unwrapped to IPv4. */
export const unmapAddress = (address: string): string => {
  const mapped = mappedPrefix.exec(address)
  return mapped?.[1] ?? address
}

const cache = new Map<string, Net.BlockList | null>()

const listFor = (source: string): Net.BlockList | null => {
  const cached = cache.get(source)
  if (cached !== undefined) return cached
  const slash = source.lastIndexOf("/")
  const network = source.slice(0, slash)
  const prefix = Number(source.slice(slash + 1))
  const family = Net.isIPv4(network) ? "ipv4" : Net.isIPv6(network) ? "ipv6" : null
  let list: Net.BlockList | null = null
  if (slash > 0 && family !== null && Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === "ipv4" ? 32 : 128)) {
    list = new Net.BlockList()
    list.addSubnet(network, prefix, family)
  }
  if (cache.size > 10_000) cache.clear()
  cache.set(source, list)
  return list
}

/**
 * Whether `remoteAddress` lies inside the CIDR `source`. A source that is not a valid CIDR
 * allows nothing (fail closed).
 */
export const sourceAllows = (source: string, remoteAddress: string): boolean => {
  const list = listFor(source)
  if (list === null) return false
  const address = unmapAddress(remoteAddress)
  const family = Net.isIPv4(address) ? "ipv4" : Net.isIPv6(address) ? "ipv6" : null
  return family !== null && list.check(address, family)
}
