import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import * as SecretBox from "../src/SecretBox.ts"

const key = (id: string) => ({ id, key: Redacted.make(new Uint8Array(Buffer.from(SecretBox.generateKey(), "base64"))) })

describe("SecretBox", () => {
  it.effect("round-trips any secret and binds the AAD", () =>
    Effect.gen(function* () {
      const box = yield* SecretBox.make({ keys: [key("k1")], activeKeyId: "k1" })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 64 }), fc.string({ maxLength: 32 }), async (secret, aad) => {
            const sealed = await Effect.runPromise(box.seal(Redacted.make(secret), aad))
            assert.notInclude(sealed, secret.length > 3 ? secret : "\u0000")
            const opened = await Effect.runPromise(box.open(sealed, aad))
            assert.strictEqual(Redacted.value(opened), secret)
            const wrongAad = await Effect.runPromise(Effect.flip(box.open(sealed, `${aad}x`)))
            assert.strictEqual(wrongAad._tag, "SecretBoxError")
          }),
          { numRuns: 100 }
        )
      )
    })
  )

  it.effect("a tampered ciphertext does not open", () =>
    Effect.gen(function* () {
      const box = yield* SecretBox.make({ keys: [key("k1")], activeKeyId: "k1" })
      const sealed = yield* box.seal(Redacted.make("secret-password"), SecretBox.deviceSecretAad("g1", "d1"))
      const parts = sealed.split(".")
      const body = Buffer.from(parts[3]!, "base64url")
      body[0] = body[0]! ^ 1
      parts[3] = body.toString("base64url")
      const error = yield* Effect.flip(box.open(parts.join("."), SecretBox.deviceSecretAad("g1", "d1")))
      assert.strictEqual(error._tag, "SecretBoxError")
      const moved = yield* Effect.flip(box.open(sealed, SecretBox.deviceSecretAad("g2", "d1")))
      assert.strictEqual(moved._tag, "SecretBoxError", "a ciphertext moved to another grant does not open")
    })
  )

  it.effect("rotation: new secrets use the active key, old ones still open", () =>
    Effect.gen(function* () {
      const k1 = key("k1")
      const k2 = key("k2")
      const before = yield* SecretBox.make({ keys: [k1], activeKeyId: "k1" })
      const old = yield* before.seal(Redacted.make("old"), "aad")
      const after = yield* SecretBox.make({ keys: [k1, k2], activeKeyId: "k2" })
      const fresh = yield* after.seal(Redacted.make("new"), "aad")
      assert.isTrue(fresh.startsWith("v1.k2."))
      assert.strictEqual(Redacted.value(yield* after.open(old, "aad")), "old")
      const retired = yield* SecretBox.make({ keys: [k2], activeKeyId: "k2" })
      assert.strictEqual((yield* Effect.flip(retired.open(old, "aad")))._tag, "SecretBoxError")
    })
  )

  it.effect("refuses bad key rings", () =>
    Effect.gen(function* () {
      const short = { id: "k", key: Redacted.make(new Uint8Array(16)) }
      assert.strictEqual((yield* Effect.flip(SecretBox.make({ keys: [short], activeKeyId: "k" })))._tag, "SecretBoxError")
      assert.strictEqual((yield* Effect.flip(SecretBox.make({ keys: [key("k1")], activeKeyId: "k9" })))._tag, "SecretBoxError")
      assert.strictEqual((yield* Effect.flip(SecretBox.make({ keys: [key("bad id")], activeKeyId: "bad id" })))._tag, "SecretBoxError")
    })
  )

  it.effect("layerConfig reads TA_SECRET_KEYS and TA_SECRET_ACTIVE_KEY", () =>
    Effect.gen(function* () {
      const box = yield* SecretBox.SecretBox
      assert.strictEqual(box.activeKeyId, "a")
      const sealed = yield* box.seal(Redacted.make("pw"), "x")
      assert.strictEqual(Redacted.value(yield* box.open(sealed, "x")), "pw")
    }).pipe(
      Effect.provide(
        SecretBox.layerConfig.pipe(
          Layer.provide(
            ConfigProvider.layer(
              ConfigProvider.fromUnknown({
                TA_SECRET_KEYS: `a:${SecretBox.generateKey()}, b:${SecretBox.generateKey()}`,
                TA_SECRET_ACTIVE_KEY: "a"
              })
            )
          )
        )
      )
    )
  )
})

describe("SecretBox.keyIdOf", () => {
  it.effect("reads the key id of a sealed secret and nothing else", () =>
    Effect.gen(function* () {
      const box = yield* SecretBox.make({ keys: [key("k7")], activeKeyId: "k7" })
      const sealed = yield* box.seal(Redacted.make("pw"), "aad")
      assert.strictEqual(SecretBox.keyIdOf(sealed), "k7")
      assert.isUndefined(SecretBox.keyIdOf("not.sealed"))
      assert.isUndefined(SecretBox.keyIdOf("v2.k7.a.b.c"))
    })
  )
})
