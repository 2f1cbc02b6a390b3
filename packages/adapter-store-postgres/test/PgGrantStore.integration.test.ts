/**
 * The behaviour tests against the real PostgreSQL server (own schema, dropped afterwards).
 */
import { afterAll, describe, it } from "@effect/vitest"
import { databaseUrl, dropSchema, freshSchema, pgStoreLayer, serverReachable } from "./utils.ts"
import { storeBehaviour } from "./behaviour.ts"

const url = databaseUrl()
const reachable = await serverReachable(url)
const schema = freshSchema("behaviour")

if (url !== undefined && reachable) {
  storeBehaviour("PgGrantStore (PostgreSQL)", pgStoreLayer(url, schema), { transactionalUse: true })
  afterAll(() => dropSchema(url, schema))
} else {
  describe.skip("PgGrantStore (PostgreSQL)", () => {
    it("skipped: TA_TEST_DATABASE_URL is not set or the server is unreachable (run scripts/services.sh)", () => {})
  })
}
