/**
 * The example's inventory: sites (what the dashboard lists), the devices at each site and
 * the regions (regional servers) they hang off. Loaded from a JSON file (`TA_INVENTORY`) and
 * decoded with the core's `Device` and `Region` schemas, or built by the demo.
 *
 * In the file, a push device may name its own API login: `"credentials": { "user": "ta-sdk",
 * "passwordEnv": "TA_RTR1_PASSWORD" }`. The password itself never appears in the file: it is
 * read from that environment variable (as `Redacted`) when the gateway starts. Devices
 * without `credentials` use `TA_ROUTEROS_USER` / `TA_ROUTEROS_PASSWORD`.
 *
 * @since 0.1.0
 */
import { Topology } from "@transient-access/core"
import * as Schema from "effect/Schema"

/**
 * A site: a named place with one or more routers.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Site = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  devices: Schema.Array(Topology.Device)
})
/** @category models @since 0.1.0 */
export type Site = typeof Site.Type

/**
 * The whole inventory.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Inventory = Schema.Struct({
  sites: Schema.Array(Site),
  regions: Schema.Array(Topology.Region)
})
/** @category models @since 0.1.0 */
export type Inventory = typeof Inventory.Type

/**
 * Where a device's API login comes from: a user name and the environment variable holding
 * its password.
 *
 * @category schemas
 * @since 0.1.0
 */
export const DeviceCredentials = Schema.Struct({
  user: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/)),
  passwordEnv: Schema.String.check(Schema.isPattern(/^[A-Z_][A-Z0-9_]{0,127}$/))
})
/** @category models @since 0.1.0 */
export type DeviceCredentials = typeof DeviceCredentials.Type

/**
 * The inventory file: the inventory, whose devices may carry `credentials`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const InventoryFile = Schema.Struct({
  sites: Schema.Array(
    Site.mapFields(({ devices: _devices, ...fields }) => ({
      ...fields,
      devices: Schema.Array(Topology.Device.mapFields((fields) => ({ ...fields, credentials: Schema.optionalKey(DeviceCredentials) })))
    }))
  ),
  regions: Schema.Array(Topology.Region)
})

/**
 * A loaded inventory file: the inventory (without credentials) and the credentials by
 * device id.
 *
 * @category models
 * @since 0.1.0
 */
export interface LoadedInventory {
  readonly inventory: Inventory
  readonly credentials: ReadonlyMap<string, DeviceCredentials>
}

/**
 * Every device of every site.
 *
 * @category constructors
 * @since 0.1.0
 */
export const devicesOf = (inventory: Inventory): ReadonlyArray<Topology.Device> => inventory.sites.flatMap((site) => site.devices)

/**
 * Decodes an inventory file from JSON text (throws with the schema's message when invalid)
 * and splits the credentials off the devices.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseInventory = (text: string): LoadedInventory => {
  const file = Schema.decodeUnknownSync(Schema.fromJsonString(InventoryFile))(text)
  const credentials = new Map<string, DeviceCredentials>()
  const sites = file.sites.map((site) => ({
    ...site,
    devices: site.devices.map(({ credentials: entry, ...device }) => {
      if (entry !== undefined) credentials.set(device.id, entry)
      return device
    })
  }))
  return { inventory: { sites, regions: file.regions }, credentials }
}
