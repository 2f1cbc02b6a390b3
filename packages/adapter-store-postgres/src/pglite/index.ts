/**
 * `@transient-access/adapter-store-postgres/pglite`: the embedded store on PGlite
 * (PostgreSQL in WebAssembly, in process) for the demo, development and single-node
 * installs — `PgliteClient` (a `PgClient` on PGlite) and `PgliteStore` (every port on one
 * PGlite). A separate entry so that applications on a PostgreSQL server never load PGlite;
 * it needs the optional peer dependencies `@electric-sql/pglite` and `kysely-pglite-dialect`.
 *
 * @since 0.2.0
 */
export * as PgliteClient from "./PgliteClient.ts"
export * as PgliteStore from "./PgliteStore.ts"
