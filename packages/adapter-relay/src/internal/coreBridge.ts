/**
 * `Cidr` from the core's sources by path, until `@transient-access/core`'s index exports it.
 *
 * @since 0.1.0
 */
export * as Cidr from "../../../core/src/Cidr.ts"
