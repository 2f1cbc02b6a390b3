/**
 * Turns the settings into SDK options: which store, queue, regional gateway and device
 * gateway to use, and the inventory. The embedded default needs nothing installed: PGlite,
 * the in-memory queue, the user-space relay, and RouterOS simulators started in process.
 *
 * @since 0.1.0
 */
import { AuditLog, type Facade, type JobQueue, SecretBox, type Topology } from "@transient-access/core"
import { RelayGateway } from "@transient-access/adapter-relay"
import { startSimulator, type Simulator } from "@transient-access/adapter-routeros/testing"
import { PgAuditLog, PgGrantStore, PgliteStore } from "@transient-access/adapter-store-postgres"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fs from "node:fs/promises"
import type { Inventory } from "./Inventory.ts"
import { parseInventory } from "./Inventory.ts"
import type { Settings } from "./Settings.ts"
import * as SimulatorGateway from "./SimulatorGateway.ts"

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
  readonly simulators: ReadonlyMap<string, Simulator.Simulator>
  readonly close: () => Promise<void>
}

const simulatorSiteNames = ["Head office", "Branch office", "Warehouse", "Data centre"]

const simulatedInventory = async (settings: Settings) => {
  const region: Topology.Region = {
    id: "local" as Topology.Region["id"],
    endpointHost: settings.endpointHost,
    portRange: settings.portRange,
    tunnelAddress: "127.0.0.1"
  }
  const simulators = new Map<string, Simulator.Simulator>()
  const sites = []
  for (let index = 1; index <= settings.simulators; index++) {
    const id = `rtr-${index}`
    const simulator = await startSimulator({ identity: id, removeKillsSessions: true })
    simulators.set(id, simulator)
    const name = simulatorSiteNames[index - 1] ?? `Site ${index}`
    sites.push({
      id: `site-${index}`,
      name,
      devices: [{
        id: id as Topology.Device["id"],
        regionId: region.id,
        tunnelAddress: "127.0.0.1",
        ports: { ssh: simulator.sshPort ?? 22, winbox: 8291, api: simulator.apiPort },
        mode: "push" as const,
        name: `${name} router`
      }]
    })
  }
  return { inventory: { sites, regions: [region] }, simulators }
}

const storeLayers = (settings: Settings) => {
  const secrets = process.env["TA_SECRET_KEYS"] === undefined ? SecretBox.layerEphemeral : SecretBox.layerConfig
  switch (settings.store) {
    case "memory":
      return { audit: AuditLog.layerMemory() }
    case "pglite": {
      const store = PgliteStore.layerPglite(Option.isSome(settings.pgliteDir) ? { dataDir: settings.pgliteDir.value } : {}).pipe(
        Layer.provide(secrets)
      )
      return { store, audit: PgAuditLog.layer.pipe(Layer.provide(store)) }
    }
    case "postgres": {
      const store = PgGrantStore.layerConfig.pipe(Layer.provide(secrets))
      return { store, audit: PgAuditLog.layer.pipe(Layer.provide(store)) }
    }
  }
}

const queueLayer = async (settings: Settings): Promise<Layer.Layer<JobQueue.JobQueue, unknown> | undefined> => {
  if (settings.queue === "memory") return undefined
  const { RedisJobQueue } = await import("@transient-access/adapter-queue-redis")
  return RedisJobQueue.layerConfig()
}

/**
 * Builds the wiring (starts simulators when asked to).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeWiring = async (settings: Settings): Promise<Wiring> => {
  const simulated = settings.devices === "simulator"
  const { inventory, simulators } = simulated
    ? await simulatedInventory(settings)
    : { inventory: parseInventory(await Fs.readFile(Option.getOrThrow(settings.inventory), "utf8")), simulators: new Map() }
  if (!simulated) throw new Error("TA_DEVICES=routeros needs the RouterOS push gateway (not wired in this example yet)")
  const devices = inventory.sites.flatMap((site) => site.devices)
  const { store, audit } = { store: undefined, ...storeLayers(settings) }
  const queue = await queueLayer(settings)
  const sdkOptions: Facade.TransientAccessOptions = {
    regional: RelayGateway.layerConfig,
    device: SimulatorGateway.layer(simulators),
    devices,
    regions: inventory.regions,
    audit,
    ...(store !== undefined ? { store } : {}),
    ...(queue !== undefined ? { queue } : {}),
    settings: { sweepIntervalMs: 500, reconcileIntervalMs: 10_000, relayIntervalMs: 50, retryBaseMs: 250 }
  }
  return {
    sdkOptions,
    inventory,
    simulators,
    close: async () => {
      await Promise.all([...simulators.values()].map((simulator) => simulator.stop()))
    }
  }
}
