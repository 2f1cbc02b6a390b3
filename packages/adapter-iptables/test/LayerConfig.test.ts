/**
 * `NetfilterGateway.layerConfig` refuses incomplete or invalid settings before anything runs
 * (no command touches any firewall here).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { NetfilterGateway } from "../src/index.ts"

const build = (env: Record<string, string>) =>
  Effect.flip(Layer.build(NetfilterGateway.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))))

describe("NetfilterGateway.layerConfig", () => {
  it.effect("SSH without a pinned host key is a ConfigError (never trust any key)", () =>
    Effect.gen(function* () {
      const error = yield* build({ TA_NETFILTER_SSH_HOST: "203.0.113.5" })
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "TA_NETFILTER_SSH_HOST_KEY")
    }).pipe(Effect.scoped)
  )

  it.effect("an unknown backend is a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* build({ TA_NETFILTER_BACKEND: "ipchains" })
      assert.strictEqual(error._tag, "ConfigError")
    }).pipe(Effect.scoped)
  )
})
