/**
 * Driver failures map to the port's `StoreError` reasons: a refused connection is
 * `Unavailable`, a statement timeout is `Timeout`; the classifier is also checked on the
 * error shapes `pg` and PGlite produce.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import pg from "pg"
import { GrantStore } from "@transient-access/core"
import { classify } from "../src/internal/errors.ts"
import { Fixtures } from "@transient-access/core/testing"
import { newGrant } from "./fixtures.ts"
import { databaseUrl, dropSchema, freshSchema, pgStoreLayer, serverReachable } from "./utils.ts"

describe("error classification", () => {
  it("maps SQLSTATEs, node codes and driver messages", () => {
    assert.strictEqual(classify({ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" }), "Unavailable")
    assert.strictEqual(classify({ code: "57P01", message: "terminating connection due to administrator command" }), "Unavailable")
    assert.strictEqual(classify({ code: "08006", message: "connection failure" }), "Unavailable")
    assert.strictEqual(classify(new Error("Connection terminated unexpectedly")), "Unavailable")
    assert.strictEqual(classify({ code: "57014", message: "canceling statement due to statement timeout" }), "Timeout")
    assert.strictEqual(classify(new Error("timeout exceeded when trying to connect")), "Timeout")
    assert.strictEqual(classify({ code: "23514", message: "check violation" }), "Unknown")
    assert.strictEqual(classify("weird"), "Unknown")
  })
})

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("errors")

if (url !== undefined && reachable) {
  afterAll(() => dropSchema(url, schema))

  describe("StoreError reasons from a real server", () => {
    it.live("a refused connection is Unavailable", () =>
      Effect.gen(function* () {
        const store = yield* GrantStore.GrantStore
        const error = yield* Effect.flip(store.get(Fixtures.makeTestGrant().id))
        assert.strictEqual(error.reason, "Unavailable")
      }).pipe(
        // Nothing listens on port 1; the layer builds (no migration) and every query fails.
        Effect.provide(pgStoreLayer("postgres://postgres@127.0.0.1:1/none", "t_unreachable", { migrate: false, connectTimeoutMs: 1_000 }))
      )
    )

    it.live("a statement held up by a row lock past the statement timeout is Timeout, and writes nothing", () =>
      Effect.gen(function* () {
        const store = yield* GrantStore.GrantStore
        const grant = Fixtures.makeTestGrant()
        yield* store.insert(newGrant(grant))
        const blocker = new pg.Client({ connectionString: url })
        yield* Effect.promise(() => blocker.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => blocker.end()))
        yield* Effect.promise(() => blocker.query("begin"))
        yield* Effect.promise(() => blocker.query(`select 1 from "${schema}".grants where id = $1 for update`, [grant.id]))
        const error = yield* Effect.flip(
          store.update({ grantId: grant.id, expectedGeneration: 1, patch: { state: "active" }, jobs: () => [] })
        )
        assert.strictEqual(error._tag, "StoreError")
        assert.strictEqual(error._tag === "StoreError" ? error.reason : undefined, "Timeout")
        yield* Effect.promise(() => blocker.query("rollback"))
        const after = Option.getOrThrow(yield* store.get(grant.id))
        assert.strictEqual(after.state, "pending")
        assert.strictEqual(after.generation, 1)
      }).pipe(Effect.provide(pgStoreLayer(url, schema, { clock: "database", statementTimeoutMs: 300 })))
    )
  })
} else {
  describe.skip("StoreError reasons from a real server", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
