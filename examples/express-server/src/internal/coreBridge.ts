/**
 * Core modules this example needs that `@transient-access/core`'s index does not export yet
 * (`Cidr`, `Facade`, `GrantRequest`, `Grants`), imported from the core's sources by path.
 * Remove once the index exports them; everything else imports `@transient-access/core`.
 *
 * @since 0.1.0
 */
export * as Cidr from "../../../../packages/core/src/Cidr.ts"
export * as Facade from "../../../../packages/core/src/Facade.ts"
export * as GrantRequest from "../../../../packages/core/src/GrantRequest.ts"
export type * as Grants from "../../../../packages/core/src/Grants.ts"
