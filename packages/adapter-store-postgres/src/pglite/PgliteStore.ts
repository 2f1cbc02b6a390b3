/**
 * The embedded default in one layer: `GrantStore`, `AuditLog` and `PullStore` (`PgStore`)
 * on one PGlite database (`PgliteClient`), migrated when the layer is built and closed with
 * it. See `PgliteClient` for PGlite's limits (one process, one connection).
 *
 * @since 0.1.0
 */
import * as Layer from "effect/Layer"
import type { AuditLog, GrantStore, PullStore, SecretBox } from "@transient-access/core"
import type { MigrationError } from "../Migrations.ts"
import type { PgClient } from "../PgClient.ts"
import * as PgStore from "../PgStore.ts"
import * as PgliteClient from "./PgliteClient.ts"

/**
 * The embedded store: every port of this package on PGlite (in memory without `dataDir`),
 * plus the `PgClient` they share (for `PgGrantStore.pruneIdempotencyKeys`).
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (
  options: PgliteClient.PgliteOptions = {}
): Layer.Layer<GrantStore.GrantStore | AuditLog.AuditLog | PullStore.PullStore | PgClient, MigrationError, SecretBox.SecretBox> =>
  PgStore.layer.pipe(Layer.provideMerge(PgliteClient.layer(options)))
