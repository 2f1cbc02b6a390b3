/**
 * The relay's source check: may a socket's remote address use a path whose source is a
 * canonical CIDR? Delegates to the core's `Cidr.contains`, which reads IPv4-mapped IPv6
 * socket addresses (`::ffff:a.b.c.d`, what a dual-stack listener reports for IPv4 clients)
 * as the IPv4 address they carry, and answers `false` for anything unparsable (fail closed).
 *
 * @since 0.1.0
 */
import { Cidr } from "@transient-access/core"

/** Whether `remoteAddress` lies inside the CIDR `source`. */
export const sourceAllows = (source: string, remoteAddress: string): boolean => Cidr.contains(source, remoteAddress)
