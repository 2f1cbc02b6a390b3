/**
 * AEAD sealing of the device's copy of a password (AES-256-GCM, node `crypto`).
 *
 * A sealed secret is one printable string `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url
 * parts): the key id travels with the ciphertext so keys can be rotated — new secrets are
 * sealed with the active key, old ones still open with any key in the ring. The grant and
 * device ids are bound as additional authenticated data, so a ciphertext moved to another
 * grant's row does not open.
 *
 * Keys come from `Config` as `Redacted` (`TA_SECRET_KEYS=id1:<base64 32 bytes>,id2:…`,
 * `TA_SECRET_ACTIVE_KEY=id2`); `layerEphemeral` uses a random key that lives as long as the
 * process (the embedded default: secrets do not survive a restart, which only means a
 * pending grant whose device never got its user is revoked as failed).
 *
 * @since 0.1.0
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * Sealing or opening failed (unknown key id, tampered ciphertext, wrong AAD, bad key).
 *
 * @category errors
 * @since 0.1.0
 */
export class SecretBoxError extends Schema.TaggedError<SecretBoxError>()("SecretBoxError", {
  message: Schema.String
}) {}

/**
 * One key of the ring: an id (letters, digits, `_`, `-`) and 32 raw bytes.
 *
 * @category models
 * @since 0.1.0
 */
export interface SecretKey {
  readonly id: string
  readonly key: Redacted.Redacted<Uint8Array>
}

/**
 * The sealing service.
 *
 * @category services
 * @since 0.1.0
 */
export class SecretBox extends Context.Service<
  SecretBox,
  {
    /** Seals a secret, binding `aad` (e.g. `grant:<id>|device:<id>`). */
    readonly seal: (secret: Redacted.Redacted<string>, aad: string) => Effect.Effect<string, SecretBoxError>
    /** Opens a sealed secret with the same `aad`. */
    readonly open: (sealed: string, aad: string) => Effect.Effect<Redacted.Redacted<string>, SecretBoxError>
    /** The id of the key new secrets are sealed with. */
    readonly activeKeyId: string
  }
>()("@transient-access/core/SecretBox") {}

const keyIdPattern = /^[A-Za-z0-9_-]{1,32}$/

/**
 * Builds the service from a key ring.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly keys: ReadonlyArray<SecretKey>
  readonly activeKeyId: string
}): Effect.Effect<SecretBox["Service"], SecretBoxError> =>
  Effect.gen(function* () {
    const ring = new Map<string, Uint8Array>()
    for (const entry of options.keys) {
      if (!keyIdPattern.test(entry.id)) return yield* new SecretBoxError({ message: `invalid key id: ${entry.id}` })
      if (Redacted.value(entry.key).length !== 32) {
        return yield* new SecretBoxError({ message: `key ${entry.id} must be 32 bytes` })
      }
      ring.set(entry.id, Redacted.value(entry.key))
    }
    const active = ring.get(options.activeKeyId)
    if (active === undefined) {
      return yield* new SecretBoxError({ message: `active key ${options.activeKeyId} is not in the ring` })
    }
    return SecretBox.of({
      activeKeyId: options.activeKeyId,
      seal: (secret, aad) =>
        Effect.try({
          try: () => {
            const iv = randomBytes(12)
            const cipher = createCipheriv("aes-256-gcm", active, iv)
            cipher.setAAD(Buffer.from(aad, "utf8"))
            const ciphertext = Buffer.concat([cipher.update(Redacted.value(secret), "utf8"), cipher.final()])
            const tag = cipher.getAuthTag()
            return ["v1", options.activeKeyId, iv.toString("base64url"), ciphertext.toString("base64url"), tag.toString("base64url")].join(
              "."
            )
          },
          catch: () => new SecretBoxError({ message: "sealing failed" })
        }),
      open: (sealed, aad) => {
        const parts = sealed.split(".")
        if (parts.length !== 5 || parts[0] !== "v1") {
          return Effect.fail(new SecretBoxError({ message: "not a sealed secret" }))
        }
        const [, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string]
        const key = ring.get(keyId)
        if (key === undefined) return Effect.fail(new SecretBoxError({ message: `unknown key id ${keyId}` }))
        return Effect.try({
          try: () => {
            const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"))
            decipher.setAAD(Buffer.from(aad, "utf8"))
            decipher.setAuthTag(Buffer.from(tag, "base64url"))
            const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()])
            return Redacted.make(plain.toString("utf8"))
          },
          catch: () => new SecretBoxError({ message: "authentication failed (wrong key, AAD or tampered data)" })
        })
      }
    })
  })

/**
 * The id of the key a sealed secret was sealed with (`undefined` if it is not one), e.g.
 * for a store that records it beside the ciphertext to track key rotation.
 *
 * @category constructors
 * @since 0.1.0
 */
export const keyIdOf = (sealed: string): string | undefined => {
  const parts = sealed.split(".")
  return parts.length === 5 && parts[0] === "v1" ? parts[1] : undefined
}

/**
 * A fresh random 32-byte key, base64 encoded (for `TA_SECRET_KEYS`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const generateKey = (): string => randomBytes(32).toString("base64")

/**
 * The AAD that binds a device secret to its grant and device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const deviceSecretAad = (grantId: string, deviceId: string): string => `grant:${grantId}|device:${deviceId}`

/**
 * A layer from an explicit key ring.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: {
  readonly keys: ReadonlyArray<SecretKey>
  readonly activeKeyId: string
}): Layer.Layer<SecretBox, SecretBoxError> => Layer.effect(SecretBox, make(options))

/**
 * A layer with one random key that lives as long as the process.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEphemeral: Layer.Layer<SecretBox> = Layer.effect(
  SecretBox,
  make({ keys: [{ id: "ephemeral", key: Redacted.make(new Uint8Array(randomBytes(32))) }], activeKeyId: "ephemeral" })
).pipe(Layer.orDie)

/**
 * A layer reading `TA_SECRET_KEYS` (`id:<base64>` pairs separated by commas) and
 * `TA_SECRET_ACTIVE_KEY` (defaults to the last key listed).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<SecretBox, SecretBoxError | Config.ConfigError> = Layer.effect(
  SecretBox,
  Effect.gen(function* () {
    const raw = yield* Config.Redacted("TA_SECRET_KEYS")
    const keys: Array<SecretKey> = []
    for (const pair of Redacted.value(raw)
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "")) {
      const separator = pair.indexOf(":")
      if (separator <= 0) return yield* new SecretBoxError({ message: "TA_SECRET_KEYS entries must be id:base64" })
      keys.push({
        id: pair.slice(0, separator),
        key: Redacted.make(new Uint8Array(Buffer.from(pair.slice(separator + 1), "base64")))
      })
    }
    const last = keys.at(-1)
    if (last === undefined) return yield* new SecretBoxError({ message: "TA_SECRET_KEYS is empty" })
    const activeKeyId = yield* Config.String("TA_SECRET_ACTIVE_KEY").pipe(Config.withDefault(last.id))
    return yield* make({ keys, activeKeyId })
  })
)
