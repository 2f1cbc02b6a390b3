/**
 * The `GrantStore` port on PostgreSQL (or PGlite) through kysely, on the connection of a
 * `PgClient`.
 *
 * - Port uniqueness is the partial unique index `grants_port_held (region_id, port)` over
 *   pending/active/revoking grants; a violation is `PortTaken`.
 * - Every grant write bumps `regions.revision` in the same transaction (the regional fence);
 *   the region row lock also orders concurrent writes of one region.
 * - Outbox rows are written in the grant's transaction; `takeOutbox` and `claimExpired` use
 *   `FOR UPDATE SKIP LOCKED`, so several relays / schedulers split the work.
 * - `update` is a compare-and-set on `generation` under a row lock.
 * - The device's copy of a password is sealed with core's `SecretBox` (AES-256-GCM, key id
 *   in the sealed value and in `device_secret_key_id`, AAD = grant and device ids) and wiped
 *   by `wipeDeviceSecret` or when the grant leaves the live states.
 * - Time comes from the client's clock (`PgClient.ClockSource`).
 *
 * This module assembles the service; the queries live in `internal/grantStore/` by concern
 * (inserts, reads, locked writes, expiry claims, outbox, device secrets, revisions,
 * idempotency keys, stats), transactions and locking in `internal/`.
 *
 * `layer` needs a `PgClient` (`PgClient.layer`, `PgClient.layerConfig`,
 * `PgClient.layerFromPool`, or `PgliteClient.layer` from the `/pglite` entry) and core's
 * `SecretBox`; `PgStore.layer` adds the audit log and the pull store on the same client.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GrantStore, SecretBox } from "@transient-access/core"
import { connectionOf } from "./internal/connection.ts"
import { makeStoreContext } from "./internal/grantStore/context.ts"
import { makeDeviceSecrets } from "./internal/grantStore/deviceSecrets.ts"
import { makeExpiry } from "./internal/grantStore/expiry.ts"
import { makeGrantsRead } from "./internal/grantStore/grantsRead.ts"
import { makeGrantsWrite } from "./internal/grantStore/grantsWrite.ts"
import * as Idempotency from "./internal/grantStore/idempotency.ts"
import { makeInsert } from "./internal/grantStore/insert.ts"
import { makeOutbox } from "./internal/grantStore/outbox.ts"
import { makeRevisions } from "./internal/grantStore/revisions.ts"
import { makeStats } from "./internal/grantStore/stats.ts"
import { PgClient } from "./PgClient.ts"

/**
 * How long an idempotency key is honoured (24 hours, store clock); afterwards the same key
 * starts a new request. Rows stay until `pruneIdempotencyKeys` removes them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const idempotencyRetentionMs: number = Idempotency.idempotencyRetentionMs

/**
 * Builds a store instance on the client's connection (its schema must be migrated). Each
 * instance has its own transaction runner: calls made inside one instance's
 * `withLiveGrant` callback join its transaction, another instance's never do.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<GrantStore.GrantStore["Service"], never, PgClient | SecretBox.SecretBox> = Effect.gen(function* () {
  const connection = yield* connectionOf(yield* PgClient)
  const context = makeStoreContext(connection, yield* SecretBox.SecretBox)
  return GrantStore.GrantStore.of({
    ...makeInsert(context),
    ...makeGrantsRead(context),
    ...makeGrantsWrite(context),
    ...makeExpiry(context),
    ...makeRevisions(context),
    ...makeOutbox(context),
    ...makeDeviceSecrets(context),
    ...makeStats(context)
  })
})

/**
 * The store on the `PgClient` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<GrantStore.GrantStore, never, PgClient | SecretBox.SecretBox> = Layer.effect(GrantStore.GrantStore, make)

/**
 * Deletes idempotency keys older than the 24-hour retention (store-clock ms `now`, default
 * the database's). Keys past retention are already ignored; this only reclaims space. Run
 * it from a periodic job. Returns the number of keys deleted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const pruneIdempotencyKeys = (now?: number): Effect.Effect<number, GrantStore.StoreError, PgClient> =>
  Effect.gen(function* () {
    const connection = yield* connectionOf(yield* PgClient)
    return yield* Idempotency.pruneIdempotencyKeys(connection, now)
  })
