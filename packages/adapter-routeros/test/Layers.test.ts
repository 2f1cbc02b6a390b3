/**
 * The `layerConfig` variants: `ApiTransport.layerConfig` logs in with `TA_ROUTEROS_USER` /
 * `TA_ROUTEROS_PASSWORD` (redacted) and needs the password; `PullGateway.layerConfig` takes
 * its timings from `TA_PULL_APPLY_TIMEOUT_MS` / `TA_PULL_POLL_INTERVAL_MS`.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { DeviceGateway, MemoryGrantStore, MemoryPullStore } from "@transient-access/core"
import * as ApiTransport from "../src/ApiTransport.ts"
import * as PullChannel from "../src/PullChannel.ts"
import * as PullGateway from "../src/PullGateway.ts"
import { startSimulator } from "../src/testing/index.ts"
import { adminPassword, deviceOf, uniqueUser } from "./utils.ts"

const sim = await startSimulator({ adminPassword, profile: "v7", sshPort: false })
afterAll(() => sim.stop())
const device = deviceOf(sim)

const configured = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))

describe("ApiTransport.layerConfig", () => {
  it.live("logs in with TA_ROUTEROS_USER and TA_ROUTEROS_PASSWORD", () =>
    Effect.gen(function* () {
      const inventory = yield* DeviceGateway.DeviceGateway.use((gateway) => gateway.inventory(device))
      assert.deepStrictEqual(inventory, { users: [], forwards: [] })
    }).pipe(
      Effect.provide(
        ApiTransport.layerConfig().pipe(Layer.provide(configured({ TA_ROUTEROS_USER: "admin", TA_ROUTEROS_PASSWORD: adminPassword })))
      )
    )
  )

  it.live("the configured password is the one sent: a wrong one is Rejected", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(DeviceGateway.DeviceGateway.use((gateway) => gateway.inventory(device)))
      assert.strictEqual(error.reason, "Rejected")
    }).pipe(
      Effect.provide(
        ApiTransport.layerConfig().pipe(Layer.provide(configured({ TA_ROUTEROS_USER: "admin", TA_ROUTEROS_PASSWORD: "not-the-password" })))
      )
    )
  )

  it.live("without TA_ROUTEROS_PASSWORD the layer fails with a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(
          Effect.service(DeviceGateway.DeviceGateway),
          ApiTransport.layerConfig().pipe(Layer.provide(configured({ TA_ROUTEROS_USER: "admin" })))
        )
      )
      assert.strictEqual(error._tag, "ConfigError")
    })
  )
})

describe("PullGateway.layerConfig", () => {
  const stores = Layer.merge(MemoryGrantStore.layerEphemeral, MemoryPullStore.layer)
  const gatewayFrom = (env: Record<string, string>) =>
    PullGateway.layerConfig().pipe(Layer.provide(PullChannel.layer), Layer.provide(stores), Layer.provide(configured(env)))

  it.live("waits TA_PULL_APPLY_TIMEOUT_MS for a check-in, then fails Timeout", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(DeviceGateway.DeviceGateway.use((gateway) => gateway.enableUser(device, uniqueUser())))
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.message, "within 50 ms")
    }).pipe(Effect.provide(gatewayFrom({ TA_PULL_APPLY_TIMEOUT_MS: "50", TA_PULL_POLL_INTERVAL_MS: "10" })))
  )

  it.live("an unreadable TA_PULL_APPLY_TIMEOUT_MS fails with a ConfigError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(Effect.service(DeviceGateway.DeviceGateway), gatewayFrom({ TA_PULL_APPLY_TIMEOUT_MS: "soon" }))
      )
      assert.strictEqual(error._tag, "ConfigError")
    })
  )
})
