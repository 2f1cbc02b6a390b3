/**
 * The core's `GrantStore` contract suite against the embedded PGlite store, with a JSON
 * dump of every table as the raw probe.
 */
import { PGlite } from "@electric-sql/pglite"
import * as Layer from "effect/Layer"
import { Kysely } from "kysely"
import { PGliteDialect } from "kysely-pglite-dialect"
import { GrantStoreSuite } from "@transient-access/core/suites"
import { PgGrantStore } from "../src/index.ts"
import type { Database } from "../src/internal/rows.ts"
import { clientFromKysely, jsonDump, secretBoxLayer } from "./utils.ts"

const db = new Kysely<Database>({ dialect: new PGliteDialect(new PGlite()) })
const schema = "transient_access"
const storeLayer = PgGrantStore.layer.pipe(Layer.provide(clientFromKysely(db, schema)), Layer.provide(secretBoxLayer))

GrantStoreSuite.suite("PgliteStore (embedded)", storeLayer, { probe: { rawDump: jsonDump({ db, schema }) } })
