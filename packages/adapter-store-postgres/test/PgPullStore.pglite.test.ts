/**
 * The core's `PullStore` contract suite against `PgPullStore` on the embedded PGlite store,
 * with a JSON dump of the pull tables as the raw probe.
 */
import { PGlite } from "@electric-sql/pglite"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Kysely, sql } from "kysely"
import { PGliteDialect } from "kysely-pglite-dialect"
import { PullStoreSuite } from "@transient-access/core/suites"
import { PgGrantStore, PgPullStore } from "../src/index.ts"
import type { Database } from "../src/internal/rows.ts"
import { clientFromKysely, secretBoxLayer } from "./utils.ts"

const db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) })
const schema = "transient_access"
const storeLayer = PgGrantStore.layer.pipe(Layer.provideMerge(clientFromKysely(db, schema)), Layer.provide(secretBoxLayer))
const rawDump = Effect.promise(async () => {
  const devices = await sql`select * from ${sql.table(`${schema}.pull_devices`)}`.execute(db)
  const commands = await sql`select * from ${sql.table(`${schema}.pull_commands`)}`.execute(db)
  return JSON.stringify({ devices: devices.rows, commands: commands.rows })
})

PullStoreSuite.suite("PgPullStore (PGlite)", PgPullStore.layer.pipe(Layer.provide(storeLayer)), { probe: { rawDump } })
