/**
 * Internal: the device's copy of a password — sealed with core's `SecretBox` (AAD = grant
 * and device ids) when the grant is inserted, opened by `readDeviceSecret`, wiped by
 * `wipeDeviceSecret` (and by grant writes that reach `revoked`).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { SecretBox } from "@transient-access/core"
import type { GrantStore } from "@transient-access/core"
import { query } from "../transaction.ts"
import { storeError } from "./context.ts"
import type { Service, StoreContext } from "./context.ts"

const aad = (grant: { readonly id: string; readonly deviceId: string }) => SecretBox.deviceSecretAad(grant.id, grant.deviceId)

/**
 * Seals the device secret of a new grant (none without one).
 *
 * @category constructors
 * @since 0.2.0
 */
export const sealDeviceSecret = (
  context: StoreContext,
  grant: { readonly id: string; readonly deviceId: string },
  secret: Option.Option<Redacted.Redacted<string>>
): Effect.Effect<Option.Option<string>, GrantStore.StoreError> =>
  Option.isSome(secret)
    ? context.box.seal(secret.value, aad(grant)).pipe(
        Effect.mapError((error) => storeError("Unknown", `sealing the device secret: ${error.message}`)),
        Effect.map(Option.some)
      )
    : Effect.succeed(Option.none<string>())

/**
 * The `grants` columns of a sealed secret (both NULL without one).
 *
 * @category constructors
 * @since 0.2.0
 */
export const sealedColumns = (sealed: Option.Option<string>) => ({
  device_secret: Option.getOrNull(sealed),
  device_secret_key_id: Option.match(sealed, { onNone: () => null, onSome: (value) => SecretBox.keyIdOf(value) ?? null })
})

/**
 * `readDeviceSecret` and `wipeDeviceSecret`.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeDeviceSecrets = (context: StoreContext): Pick<Service, "readDeviceSecret" | "wipeDeviceSecret"> => {
  const { box, q, transactions } = context

  const readDeviceSecret: Service["readDeviceSecret"] = Effect.fn("GrantStore.readDeviceSecret")(function* (grantId) {
    const db = yield* transactions.executor
    const row = yield* query("read device secret", () =>
      q(db).selectFrom("grants").select(["device_id", "device_secret"]).where("id", "=", grantId).executeTakeFirst()
    )
    if (row === undefined || row.device_secret === null) return Option.none()
    const secret = yield* box
      .open(row.device_secret, aad({ id: grantId, deviceId: row.device_id }))
      .pipe(Effect.mapError((error) => storeError("Corrupt", `device secret of ${grantId} does not open: ${error.message}`)))
    return Option.some(secret)
  })

  const wipeDeviceSecret: Service["wipeDeviceSecret"] = Effect.fn("GrantStore.wipeDeviceSecret")(function* (grantId) {
    const db = yield* transactions.executor
    yield* query("wipe device secret", () =>
      q(db).updateTable("grants").set({ device_secret: null, device_secret_key_id: null }).where("id", "=", grantId).execute()
    )
  })

  return { readDeviceSecret, wipeDeviceSecret }
}
