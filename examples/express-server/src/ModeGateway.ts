/**
 * One `DeviceGateway` over two: each call goes to the gateway of the device's delivery mode
 * (`push`: the SDK connects to the router, e.g. the RouterOS API; `pull`: the router checks
 * in and runs the commands it is handed). The core sees a single gateway; a fleet can mix
 * both kinds of devices.
 *
 * @since 0.1.0
 */
import { DeviceGateway, type Topology } from "@transient-access/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * Builds both gateways (their resources live as long as this layer) and dispatches by
 * `device.mode`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerByMode = <EPush, EPull, RPush, RPull>(gateways: {
  readonly push: Layer.Layer<DeviceGateway.DeviceGateway, EPush, RPush>
  readonly pull: Layer.Layer<DeviceGateway.DeviceGateway, EPull, RPull>
}): Layer.Layer<DeviceGateway.DeviceGateway, EPush | EPull, RPush | RPull> =>
  Layer.effect(
    DeviceGateway.DeviceGateway,
    Effect.gen(function* () {
      const push = Context.get(yield* Layer.build(gateways.push), DeviceGateway.DeviceGateway)
      const pull = Context.get(yield* Layer.build(gateways.pull), DeviceGateway.DeviceGateway)
      const of = (device: Topology.Device) => (device.mode === "pull" ? pull : push)
      return DeviceGateway.DeviceGateway.of({
        createUser: (device, spec) => of(device).createUser(device, spec),
        enableUser: (device, username) => of(device).enableUser(device, username),
        removeUser: (device, username) => of(device).removeUser(device, username),
        openForward: (device, forward) => of(device).openForward(device, forward),
        enableForward: (device, grantId) => of(device).enableForward(device, grantId),
        closeForward: (device, grantId) => of(device).closeForward(device, grantId),
        inventory: (device) => of(device).inventory(device)
      })
    })
  )
