/**
 * Turns the settings into SDK options: which store, queue, regional gateway and device
 * gateway to use, and the inventory. The embedded default needs nothing installed: PGlite,
 * the in-memory queue, the user-space relay, and RouterOS simulators started in process and
 * driven through the real RouterOS adapter (API push, and pull mode for `TA_PULL_DEVICES`).
 *
 * @since 0.1.0
 */
import type { ApiTransport } from "@transient-access/adapter-routeros"
import type { SimulatorHandle } from "@transient-access/adapter-routeros/testing"
import { PgClient, PgStore } from "@transient-access/adapter-store-postgres"
import { PgliteStore } from "@transient-access/adapter-store-postgres/pglite"
import {
  AuditLog,
  type Facade,
  type GrantStore,
  type JobQueue,
  MemoryGrantStore,
  MemoryPullStore,
  type PullStore,
  SecretBox,
  type Topology
} from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import { makePullDevices, type PullDevices } from "./CheckIn.ts"
import { credentialsFromConfig, makeDevices } from "./Devices.ts"
import { devicesOf, type Inventory, parseInventory } from "./Inventory.ts"
import { regionalLayer } from "./Regional.ts"
import type { Settings } from "./Settings.ts"
import { bootstrapPullSimulators, type SimulatedDevices, startSimulators } from "./Simulators.ts"

/**
 * Everything the server runs with.
 *
 * @category models
 * @since 0.1.0
 */
export interface Wiring {
  readonly sdkOptions: Facade.TransientAccessOptions
  readonly inventory: Inventory
  /** Simulated devices by device id (empty with real devices). */
  readonly simulators: ReadonlyMap<string, SimulatorHandle>
  /**
   * Called once the HTTP server listens at `baseUrl` (or `TA_PUBLIC_URL`): builds the pull
   * edge (check-in URLs point there) and bootstraps the pull-mode simulators.
   */
  readonly onListening: (baseUrl: string) => Promise<PullDevices>
  readonly close: () => Promise<void>
}

/** The configured store: grants, audit and pull mode's state, all on the same database. */
interface StoreLayers {
  readonly store: Layer.Layer<GrantStore.GrantStore, unknown>
  readonly audit: Layer.Layer<AuditLog.AuditLog, unknown>
  readonly pull: Layer.Layer<PullStore.PullStore, unknown>
}

const storeLayers = (settings: Settings): StoreLayers => {
  const secrets = process.env["TA_SECRET_KEYS"] === undefined ? SecretBox.layerEphemeral : SecretBox.layerConfig
  switch (settings.store) {
    case "memory":
      return { store: MemoryGrantStore.layer.pipe(Layer.provide(secrets)), audit: AuditLog.layerMemory(), pull: MemoryPullStore.layer }
    case "pglite": {
      // one layer value for all three ports: built once, one database
      const all = PgliteStore.layer(Option.isSome(settings.pgliteDir) ? { dataDir: settings.pgliteDir.value } : {}).pipe(
        Layer.provide(secrets)
      )
      return { store: all, audit: all, pull: all }
    }
    case "postgres": {
      const all = PgStore.layer.pipe(Layer.provide(PgClient.layerConfig), Layer.provide(secrets))
      return { store: all, audit: all, pull: all }
    }
  }
}

const queueLayer = async (settings: Settings): Promise<Layer.Layer<JobQueue.JobQueue, unknown> | undefined> => {
  if (settings.queue === "memory") return undefined
  if (Option.isNone(settings.redis.url)) throw new Error("TA_QUEUE=redis needs TA_REDIS_URL")
  const { RedisJobQueue } = await import("@transient-access/adapter-queue-redis")
  return RedisJobQueue.layer({ url: settings.redis.url.value, prefix: settings.redis.prefix })
}

/** The embedded region of the simulators: the relay on this host. */
const localRegion = (settings: Settings): Topology.Region => ({
  id: "local" as Topology.Region["id"],
  endpointHost: settings.endpointHost,
  portRange: settings.portRange,
  tunnelAddress: "127.0.0.1"
})

/** Real devices from `TA_INVENTORY`, with their API logins. */
const realDevices = async (settings: Settings) => {
  if (Option.isNone(settings.inventory)) throw new Error("TA_DEVICES=routeros needs TA_INVENTORY (a JSON file with sites and regions)")
  const loaded = parseInventory(await Fs.readFile(settings.inventory.value, "utf8"))
  const fallback: ApiTransport.ApiCredentials | undefined = Option.isSome(settings.routerOs.password)
    ? { user: settings.routerOs.user, password: settings.routerOs.password.value }
    : undefined
  const missing = devicesOf(loaded.inventory).filter((device) => device.mode === "push" && !loaded.credentials.has(device.id))
  if (fallback === undefined && missing.length > 0) {
    throw new Error(
      `push devices ${missing.map((device) => device.id).join(", ")} have no credentials: set TA_ROUTEROS_PASSWORD or their credentials.passwordEnv`
    )
  }
  const logins = [...(fallback !== undefined ? [fallback.user] : []), ...[...loaded.credentials.values()].map((entry) => entry.user)]
  const reserved = logins.filter((user) => user.toLowerCase().startsWith("ta-"))
  if (reserved.length > 0) {
    throw new Error(
      `API login ${reserved.join(", ")}: names starting with ta- are the SDK's temporary users and the reconciler removes them; pick another name`
    )
  }
  const tls = !settings.routerOs.tls
    ? false
    : Option.isSome(settings.routerOs.caFile)
      ? { ca: await Fs.readFile(settings.routerOs.caFile.value, "utf8") }
      : true
  return { inventory: loaded.inventory, credentials: credentialsFromConfig(loaded.credentials, fallback), tls }
}

/**
 * Builds the wiring (starts simulators when asked to).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWiring = async (settings: Settings): Promise<Wiring> => {
  const simulated: SimulatedDevices | undefined =
    settings.devices === "simulator"
      ? await startSimulators({ count: settings.simulators, pullDevices: settings.pullDevices, region: localRegion(settings) })
      : undefined
  try {
    const source =
      simulated !== undefined
        ? { inventory: simulated.inventory, credentials: Effect.succeed(simulated.credentials), tls: false as const }
        : await realDevices(settings)
    const inventory = source.inventory
    const devices = devicesOf(inventory)
    const applyTimeoutMs = Option.getOrElse(settings.pullApplyTimeoutMs, () => (simulated === undefined ? 60_000 : 5_000))
    const deviceLayers = makeDevices({ credentials: source.credentials, tls: source.tls, applyTimeoutMs })
    const { store, audit, pull: pullStore } = storeLayers(settings)
    const queue = await queueLayer(settings)
    const sdkOptions: Facade.TransientAccessOptions = {
      regional: regionalLayer(settings),
      // the same `store` value everywhere: the layers are built once and share one database
      device: deviceLayers.layer.pipe(Layer.provide(Layer.mergeAll(store, pullStore, audit))),
      devices,
      regions: inventory.regions,
      store,
      audit,
      ...(queue !== undefined ? { queue } : {}),
      settings: { sweepIntervalMs: 500, reconcileIntervalMs: 10_000, relayIntervalMs: 50, retryBaseMs: 250 }
    }
    const intervalSeconds = Option.getOrElse(settings.pullIntervalSeconds, () => (simulated === undefined ? 30 : 1))
    return {
      sdkOptions,
      inventory,
      simulators: simulated?.simulators ?? new Map(),
      onListening: async (baseUrl) => {
        const base = Option.getOrElse(settings.publicUrl, () => baseUrl).replace(/\/+$/, "")
        const pull = makePullDevices({
          channel: deviceLayers.channel(),
          devices,
          checkInUrl: (deviceId) => `${base}/device/${encodeURIComponent(deviceId)}/checkin`,
          intervalSeconds
        })
        if (simulated !== undefined) await bootstrapPullSimulators(simulated, pull)
        return pull
      },
      close: async () => {
        await simulated?.stop()
      }
    }
  } catch (error) {
    await simulated?.stop()
    throw error
  }
}
