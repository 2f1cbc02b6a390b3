/**
 * `@transient-access/adapter-store-postgres`: the `GrantStore` port on PostgreSQL (kysely +
 * `pg`), its migrations, the `AuditLog` and `PullStore` ports on the same database, and PGlite as the
 * embedded default.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.ts"
export * as PgAuditLog from "./PgAuditLog.ts"
export * as PgGrantStore from "./PgGrantStore.ts"
export * as PgliteStore from "./PgliteStore.ts"
export * as PgPullStore from "./PgPullStore.ts"
export * as Rows from "./Rows.ts"
