/**
 * Devices and regions, and the directory ports through which the embedding platform
 * tells the SDK about them.
 *
 * A device is a router reachable on its management-tunnel address from its region's
 * regional server. A region is a regional server: a public endpoint host, a range of
 * ports to hand out, and its own tunnel address (the source address the router sees).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Cidr from "./Cidr.ts"
import { PortNumber } from "./Grant.ts"
import { DeviceId, RegionId } from "./Ids.ts"

/**
 * How the device receives its jobs: `push` (the SDK connects to it) or `pull` (it checks in).
 *
 * @category schemas
 * @since 0.1.0
 */
export const DeliveryMode = Schema.Literals(["push", "pull"])
/** @category models @since 0.1.0 */
export type DeliveryMode = typeof DeliveryMode.Type

/**
 * A router's interface address on a LAN, as RouterOS `/ip address` lists it
 * (`192.168.88.1/24`: the router's own address and the prefix length of the LAN).
 *
 * @category schemas
 * @since 0.2.0
 */
export const LanAddress = Schema.String.check(
  Schema.makeFilter(
    (value: string) => Cidr.parseInterfaceAddress(value) !== undefined || "expected a router interface address such as 192.168.88.1/24"
  )
)

/**
 * A router behind the management VPN.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Device = Schema.Struct({
  id: DeviceId,
  regionId: RegionId,
  /** The device's address inside the management tunnel (canonical IPv4/IPv6 text). */
  tunnelAddress: Schema.String,
  /** Service ports on the device. */
  ports: Schema.Struct({ ssh: PortNumber, winbox: PortNumber, api: PortNumber }),
  mode: DeliveryMode,
  name: Schema.optionalKey(Schema.String),
  /**
   * The router's addresses on the LANs behind it (`/ip address`): port forwards may only
   * target hosts inside these networks. Without them, every port forward is refused.
   */
  lanAddresses: Schema.optionalKey(Schema.Array(LanAddress))
})
/** @category models @since 0.1.0 */
export type Device = typeof Device.Type

/**
 * A regional server.
 *
 * @category schemas
 * @since 0.1.0
 */
export const Region = Schema.Struct({
  id: RegionId,
  /** Host name or address users connect to. */
  endpointHost: Schema.String,
  /** Inclusive range of public ports handed out to grants. */
  portRange: Schema.Struct({ from: PortNumber, to: PortNumber }),
  /** The regional server's own tunnel address: the source address routers see. */
  tunnelAddress: Schema.String,
  /** The management tunnel's network (`10.8.0.0/24`): never a port-forward target. */
  tunnelNetwork: Schema.optionalKey(Cidr.Cidr)
})
/** @category models @since 0.1.0 */
export type Region = typeof Region.Type

/**
 * Standard service ports of a RouterOS device.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultDevicePorts = { ssh: 22, winbox: 8291, api: 8728 } as const

/**
 * Raised when the directory does not know a device.
 *
 * @category errors
 * @since 0.1.0
 */
export class DeviceNotFound extends Schema.TaggedError<DeviceNotFound>()("DeviceNotFound", {
  deviceId: Schema.String
}) {}

/**
 * Raised when the directory does not know a region.
 *
 * @category errors
 * @since 0.1.0
 */
export class RegionNotFound extends Schema.TaggedError<RegionNotFound>()("RegionNotFound", {
  regionId: Schema.String
}) {}

/**
 * The platform's inventory of devices.
 *
 * @category services
 * @since 0.1.0
 */
export class DeviceDirectory extends Context.Service<
  DeviceDirectory,
  {
    readonly get: (id: DeviceId) => Effect.Effect<Device, DeviceNotFound>
    readonly list: Effect.Effect<ReadonlyArray<Device>>
  }
>()("@transient-access/core/DeviceDirectory") {}

/**
 * The platform's inventory of regional servers.
 *
 * @category services
 * @since 0.1.0
 */
export class RegionDirectory extends Context.Service<
  RegionDirectory,
  {
    readonly get: (id: RegionId) => Effect.Effect<Region, RegionNotFound>
    readonly list: Effect.Effect<ReadonlyArray<Region>>
  }
>()("@transient-access/core/RegionDirectory") {}

/**
 * Static directories from fixed lists (the embedded default and tests).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStatic = (options: {
  readonly devices: ReadonlyArray<Device>
  readonly regions: ReadonlyArray<Region>
}): Layer.Layer<DeviceDirectory | RegionDirectory> => {
  const devices = new Map(options.devices.map((device) => [device.id as string, device]))
  const regions = new Map(options.regions.map((region) => [region.id as string, region]))
  return Layer.merge(
    Layer.succeed(DeviceDirectory, {
      get: (id) => {
        const device = devices.get(id)
        return device ? Effect.succeed(device) : Effect.fail(new DeviceNotFound({ deviceId: id }))
      },
      list: Effect.sync(() => [...devices.values()])
    }),
    Layer.succeed(RegionDirectory, {
      get: (id) => {
        const region = regions.get(id)
        return region ? Effect.succeed(region) : Effect.fail(new RegionNotFound({ regionId: id }))
      },
      list: Effect.sync(() => [...regions.values()])
    })
  )
}

/**
 * An inventory as plain data (ids as strings): what `layerDecoded` and the engine's
 * `devices` / `regions` options take.
 *
 * @category schemas
 * @since 0.2.0
 */
export const Inventory = Schema.Struct({
  devices: Schema.Array(Device),
  regions: Schema.Array(Region)
})
/** @category models @since 0.2.0 */
export type InventoryInput = typeof Inventory.Encoded

/**
 * Static directories from plain data: the devices and regions are decoded first (ids,
 * ports, delivery modes), so a malformed inventory fails the layer with a `SchemaError`
 * that names the field, before anything runs.
 *
 * @category layers
 * @since 0.2.0
 */
export const layerDecoded = (inventory: InventoryInput): Layer.Layer<DeviceDirectory | RegionDirectory, Schema.SchemaError> =>
  Layer.unwrap(Effect.map(Schema.decodeUnknownEffect(Inventory)(inventory), layerStatic))
