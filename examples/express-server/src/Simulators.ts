/**
 * The demo's routers: RouterOS simulators from `@transient-access/adapter-routeros/testing`,
 * started in this process, each with a random `admin` password that the API gateway logs in
 * with over the real RouterOS API protocol (and a real SSH server users log into). Devices
 * named in `TA_PULL_DEVICES` are pull-mode devices: once the server listens they are
 * bootstrapped with the same script an operator would paste on a real router, and from then
 * on check in over HTTP with `/tool fetch` on their own scheduler.
 *
 * @since 0.1.0
 */
import type { ApiTransport } from "@transient-access/adapter-routeros"
import { deviceFor, type SimulatorHandle, startSimulator } from "@transient-access/adapter-routeros/testing"
import type { Topology } from "@transient-access/core"
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"
import type { PullDevices } from "./CheckIn.ts"
import type { Inventory, Site } from "./Inventory.ts"

/**
 * Running simulators and the inventory that points at them.
 *
 * @category models
 * @since 0.1.0
 */
export interface SimulatedDevices {
  readonly inventory: Inventory
  /** Simulators by device id. */
  readonly simulators: ReadonlyMap<string, SimulatorHandle>
  /** The API login of each simulator. */
  readonly credentials: (device: Topology.Device) => ApiTransport.ApiCredentials
  readonly stop: () => Promise<void>
}

const siteNames = ["Head office", "Branch office", "Warehouse", "Data centre"]

/**
 * Starts `count` simulators `rtr-1` … `rtr-<count>` in one region (`local`) whose tunnel
 * address is 127.0.0.1 (the relay connects from there).
 *
 * @category constructors
 * @since 0.1.0
 */
export const startSimulators = async (options: {
  readonly count: number
  readonly pullDevices: ReadonlyArray<string>
  readonly region: Topology.Region
}): Promise<SimulatedDevices> => {
  const simulators = new Map<string, SimulatorHandle>()
  const passwords = new Map<string, Redacted.Redacted<string>>()
  const sites: Array<Site> = []
  try {
    for (let index = 1; index <= options.count; index++) {
      const id = `rtr-${index}`
      const password = Crypto.randomBytes(18).toString("base64url")
      const simulator = await startSimulator({ identity: id, adminPassword: password, removeKillsSessions: true })
      simulators.set(id, simulator)
      passwords.set(id, Redacted.make(password))
      const name = siteNames[index - 1] ?? `Site ${index}`
      const mode = options.pullDevices.includes(id) ? ("pull" as const) : ("push" as const)
      sites.push({
        id: `site-${index}`,
        name,
        devices: [deviceFor(simulator, { id, regionId: options.region.id, mode, name: `${name} router` })]
      })
    }
  } catch (error) {
    await Promise.all([...simulators.values()].map((simulator) => simulator.stop()))
    throw error
  }
  return {
    inventory: { sites, regions: [options.region] },
    simulators,
    credentials: (device) => {
      const password = passwords.get(device.id)
      if (password === undefined) throw new Error(`no simulator for device ${device.id}`)
      return { user: "admin", password }
    },
    stop: async () => {
      await Promise.all([...simulators.values()].map((simulator) => simulator.stop()))
    }
  }
}

/**
 * Bootstraps every pull-mode simulator through the server's own bootstrap (new token, the
 * script an operator would paste), run on the simulator's CLI.
 *
 * @category constructors
 * @since 0.1.0
 */
export const bootstrapPullSimulators = async (simulated: SimulatedDevices, pull: PullDevices): Promise<void> => {
  for (const device of simulated.inventory.sites.flatMap((site) => site.devices)) {
    const simulator = simulated.simulators.get(device.id)
    if (device.mode !== "pull" || simulator === undefined) continue
    await simulator.run(await pull.bootstrap(device.id))
  }
}
