/**
 * The behaviour tests against the embedded PGlite store.
 */
import { pgliteStoreLayer } from "./utils.ts"
import { storeBehaviour } from "./behaviour.ts"

storeBehaviour("PgliteStore (embedded)", pgliteStoreLayer(), { transactionalUse: false })
