/**
 * User-space TCP relay for the Transient Access SDK: a `RegionalGateway` that listens on
 * each granted public port itself and relays to the device, enforcing the source CIDR and
 * the stop time.
 *
 * @since 0.1.0
 */
export * as RelayGateway from "./RelayGateway.ts"
