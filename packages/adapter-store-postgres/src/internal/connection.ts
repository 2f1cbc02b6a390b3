/**
 * Internal: what a `PgClient` token stands for — the kysely instance, the schema holding the
 * tables, the clock source and the locking mode — and the only way to get it back from a
 * token.
 *
 * The public `PgClient` service value is an opaque token (its type id and schema name). The
 * connection rides on it under a registry symbol (`Symbol.for`), not in a module-level map,
 * so a token made by one copy of this package (the ESM and CommonJS builds, the main and
 * `/pglite` entries) is understood by every other copy.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type { Kysely } from "kysely"
import { defaultSchema, migrate, validateSchemaName } from "../Migrations.ts"
import type { MigrationError } from "../Migrations.ts"
import type { Database } from "./rows.ts"

/**
 * The type id of a `PgClient` token.
 *
 * @category type ids
 * @since 0.2.0
 */
export const TypeId = "~@transient-access/adapter-store-postgres/PgClient" as const

/**
 * Where the store takes its time from (`PgClient.ClockSource`): `database`, the server's
 * `now()`; `effect`, Effect `Clock` time passed as a parameter.
 *
 * @category models
 * @since 0.2.0
 */
export type ClockSource = "database" | "effect"

/**
 * `row`: `withLiveGrant` holds the row lock (`FOR UPDATE`) while its callback runs.
 * `process`: an in-process per-grant lock instead, for single-connection backends used by
 * one process (PGlite).
 *
 * @category models
 * @since 0.2.0
 */
export type Locking = "row" | "process"

/**
 * The connection behind a token.
 *
 * @category models
 * @since 0.2.0
 */
export interface Connection {
  readonly db: Kysely<Database>
  readonly schema: string
  readonly clock: ClockSource
  readonly locking: Locking
}

/**
 * The public face of a connection: its type id and schema name, nothing usable.
 *
 * @category models
 * @since 0.2.0
 */
export interface Token {
  readonly [TypeId]: typeof TypeId
  readonly schema: string
}

/**
 * How a connection is opened over a kysely instance.
 *
 * @category models
 * @since 0.2.0
 */
export interface Settings {
  readonly schema?: string | undefined
  readonly clock?: ClockSource | undefined
  /** Run the migrations before the connection is handed out (default false). */
  readonly migrate?: boolean | undefined
  readonly locking: Locking
}

const connectionKey: unique symbol = Symbol.for("@transient-access/adapter-store-postgres/PgClient/connection")

interface Carrier extends Token {
  readonly [connectionKey]?: Connection
}

/**
 * A token over a kysely instance: validates the schema name, runs the migrations when
 * asked. The kysely instance stays the caller's (closing it is the caller's job).
 *
 * @category constructors
 * @since 0.2.0
 */
export const fromKysely = (db: Kysely<Database>, settings: Settings): Effect.Effect<Token, MigrationError> =>
  Effect.gen(function* () {
    const schema = yield* validateSchemaName(settings.schema ?? defaultSchema)
    if (settings.migrate === true) yield* migrate(db, { schema })
    const connection: Connection = { db, schema, clock: settings.clock ?? "database", locking: settings.locking }
    const token: Token = { [TypeId]: TypeId, schema }
    return Object.defineProperty(token, connectionKey, { value: connection, enumerable: false })
  })

/**
 * The connection of a token (a defect for a token this package did not make).
 *
 * @category constructors
 * @since 0.2.0
 */
export const connectionOf = (token: Token): Effect.Effect<Connection> => {
  const connection = (token as Carrier)[connectionKey]
  return connection === undefined
    ? Effect.die(new Error("this PgClient was not made by @transient-access/adapter-store-postgres (PgClient.layer, …)"))
    : Effect.succeed(connection)
}
