#!/usr/bin/env node
/**
 * `ta-store-migrate`: applies the store's migrations and exits.
 *
 * Reads `TA_DATABASE_URL` (required) and `TA_DATABASE_SCHEMA` (default `transient_access`)
 * from the environment; prints the migrations it applied (none when up to date). Exit code 0
 * on success, 1 on failure (the message names the failing step, never the URL's password).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { defaultSchema, migrate } from "../Migrations.ts"
import { kyselyFromPool, makePool } from "../internal/pool.ts"

const program = Effect.gen(function* () {
  const url = yield* Config.Redacted("TA_DATABASE_URL")
  const schema = yield* Config.String("TA_DATABASE_SCHEMA").pipe(Config.withDefault(defaultSchema))
  const db = kyselyFromPool(makePool({ url }))
  const result = yield* migrate(db, { schema }).pipe(Effect.ensuring(Effect.promise(() => db.destroy())))
  const target = new URL(Redacted.value(url))
  target.password = ""
  yield* Effect.sync(() =>
    console.log(
      result.applied.length === 0
        ? `schema ${schema} on ${target.host}${target.pathname} is up to date`
        : `applied to schema ${schema} on ${target.host}${target.pathname}: ${result.applied.join(", ")}`
    )
  )
})

Effect.runPromise(program).catch((error: unknown) => {
  console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
