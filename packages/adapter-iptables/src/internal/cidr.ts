/**
 * The single place the package reaches core's `Cidr` module (canonical CIDR and address
 * validation).
 *
 * @since 0.1.0
 */
export * from "../../../core/src/Cidr.ts"
