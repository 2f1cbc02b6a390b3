/**
 * The device side of the wiring, all from `@transient-access/adapter-routeros`: its API push
 * gateway (`ApiTransport.layer`, node-routeros) for `push` devices and its pull gateway
 * (`PullGateway.layer` over one `PullChannel`) for `pull` devices, behind one
 * `DeviceGateway` (`ModeGateway`). The channel keeps its state (device tokens, pending
 * commands, check-ins) in the `PullStore` it is given — the configured store's — so tokens
 * and pending commands survive a restart and any number of server processes can share the
 * devices.
 * The same code drives real routers and the in-process simulators: only the inventory and
 * the credentials differ.
 *
 * API logins are resolved when the gateway starts: a device's own `credentials.passwordEnv`
 * (read with `Config.Redacted`), else the default login (`TA_ROUTEROS_USER` /
 * `TA_ROUTEROS_PASSWORD`). Passwords stay `Redacted` end to end.
 *
 * @since 0.1.0
 */
import { ApiTransport, PullChannel, PullGateway } from "@transient-access/adapter-routeros"
import type { DeviceGateway, GrantStore, PullStore, Topology } from "@transient-access/core"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Tls from "node:tls"
import type { DeviceCredentials } from "./Inventory.ts"
import { layerByMode } from "./ModeGateway.ts"

/**
 * Options of the device layer.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceOptions {
  /** The API login of each push device, resolved when the gateway starts. */
  readonly credentials: Effect.Effect<(device: Topology.Device) => ApiTransport.ApiCredentials, Config.ConfigError>
  /** api-ssl: `true` (system CAs) or TLS options (e.g. `{ ca }`); `false`: plain API. */
  readonly tls: boolean | Tls.ConnectionOptions
  /** How long a pull-mode operation waits for a confirming check-in. */
  readonly applyTimeoutMs: number
}

/**
 * The device gateway (needs the `GrantStore`: pull mode draws its sequence numbers and
 * reads device secrets from it; and the `PullStore`: pull mode's state) and the pull channel
 * the HTTP edge serves.
 *
 * @category models
 * @since 0.1.0
 */
export interface Devices {
  readonly layer: Layer.Layer<DeviceGateway.DeviceGateway, Config.ConfigError, GrantStore.GrantStore | PullStore.PullStore>
  /** The pull channel built with `layer` (throws before `layer` is built). */
  readonly channel: () => PullChannel.PullChannel["Service"]
}

/**
 * Builds the device gateway.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeDevices = (options: DeviceOptions): Devices => {
  let built: PullChannel.PullChannel["Service"] | undefined
  const push = Layer.unwrap(Effect.map(options.credentials, (credentials) => ApiTransport.layer({ credentials, tls: options.tls })))
  const pull = Layer.unwrap(
    Effect.map(PullChannel.make, (channel) => {
      built = channel
      return PullGateway.layer({ applyTimeoutMs: options.applyTimeoutMs }).pipe(
        Layer.provide(Layer.succeed(PullChannel.PullChannel, channel))
      )
    })
  )
  const channel = () => {
    if (built === undefined) throw new Error("the pull channel is built with the device layer: start the SDK first")
    return built
  }
  return { layer: layerByMode({ push, pull }), channel }
}

/**
 * API logins from the inventory file's `credentials` (passwords read from the named
 * environment variables) with a default login for the other devices. A push device with
 * neither fails when the gateway first needs it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const credentialsFromConfig = (
  entries: ReadonlyMap<string, DeviceCredentials>,
  fallback: ApiTransport.ApiCredentials | undefined
): DeviceOptions["credentials"] =>
  Effect.gen(function* () {
    const resolved = new Map<string, ApiTransport.ApiCredentials>()
    for (const [deviceId, entry] of entries) {
      resolved.set(deviceId, { user: entry.user, password: yield* Config.Redacted(entry.passwordEnv) })
    }
    return (device: Topology.Device) => {
      const credentials = resolved.get(device.id) ?? fallback
      if (credentials === undefined)
        throw new Error(`no API credentials for device ${device.id}: set TA_ROUTEROS_PASSWORD or its credentials.passwordEnv`)
      return credentials
    }
  })
