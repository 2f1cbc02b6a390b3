/**
 * `@transient-access/adapter-store-postgres`: the `GrantStore` port on PostgreSQL (kysely +
 * `pg`), its migrations, and the `AuditLog` and `PullStore` ports on the same database, all
 * on one connection (`PgClient`); `PgStore.layer` provides the three at once. The embedded
 * PGlite store is the `@transient-access/adapter-store-postgres/pglite` entry, so this
 * entry never loads PGlite.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.ts"
export * as PgAuditLog from "./PgAuditLog.ts"
export * as PgClient from "./PgClient.ts"
export * as PgGrantStore from "./PgGrantStore.ts"
export * as PgPullStore from "./PgPullStore.ts"
export * as PgStore from "./PgStore.ts"

// Names the declarations of both entries mention, at the top level so that declaration
// bundles and callers can name them without reaching into a namespace.
export { MigrationError } from "./Migrations.ts"
export type { ClientOptions, ClockSource, ConnectionOptions, PgClient as PgClientService } from "./PgClient.ts"
