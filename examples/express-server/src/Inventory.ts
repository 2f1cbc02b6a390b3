/**
 * The example's inventory: sites (what the dashboard lists), the devices at each site and
 * the regions (regional servers) they hang off. Loaded from a JSON file (`TA_INVENTORY`) and
 * decoded with the core's `Device` and `Region` schemas, or built by the demo.
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
 * Every device of every site.
 *
 * @category constructors
 * @since 0.1.0
 */
export const devicesOf = (inventory: Inventory): ReadonlyArray<Topology.Device> =>
  inventory.sites.flatMap((site) => site.devices)

/**
 * Decodes an inventory from JSON text (throws with the schema's message when invalid).
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseInventory = (text: string): Inventory => Schema.decodeUnknownSync(Schema.fromJsonString(Inventory))(text)
