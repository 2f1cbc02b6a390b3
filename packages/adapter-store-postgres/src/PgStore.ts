/**
 * Every port this package implements, on one `PgClient`: `GrantStore` (`PgGrantStore`),
 * `AuditLog` (`PgAuditLog`) and `PullStore` (`PgPullStore`). One layer instead of three,
 * for applications that keep grants, the audit trail and pull mode's state in one database
 * (the usual case):
 *
 * ```ts
 * const Store = PgStore.layer.pipe(
 *   Layer.provideMerge(PgClient.layerConfig),
 *   Layer.provide(SecretBox.layerConfig)
 * )
 * ```
 *
 * `PgliteStore.layer` (the `/pglite` entry) is the same over an embedded PGlite.
 *
 * @since 0.2.0
 */
import * as Layer from "effect/Layer"
import type { AuditLog, GrantStore, PullStore, SecretBox } from "@transient-access/core"
import type { PgClient } from "./PgClient.ts"
import * as PgAuditLog from "./PgAuditLog.ts"
import * as PgGrantStore from "./PgGrantStore.ts"
import * as PgPullStore from "./PgPullStore.ts"

/**
 * `GrantStore`, `AuditLog` and `PullStore` on the `PgClient` in context (one pool, one
 * schema).
 *
 * @category layers
 * @since 0.2.0
 */
export const layer: Layer.Layer<GrantStore.GrantStore | AuditLog.AuditLog | PullStore.PullStore, never, PgClient | SecretBox.SecretBox> =
  Layer.mergeAll(PgGrantStore.layer, PgAuditLog.layer, PgPullStore.layer)
