/**
 * Push transport over SSH (ssh2) running CLI commands, for devices whose API service is
 * disabled. The same gateway logic as the API transport; every command is rendered by
 * `RosScript` (one escaping function, never string concatenation of input).
 *
 * One SSH connection per device, reused and re-made after errors; each operation is one
 * `exec` channel with a deadline. A script aborts at its first failing command [DOC A3], so
 * each call ends with `:put` of a random sentinel: no sentinel in the output means the
 * command failed, and the output is its error text (mapped to a typed reason).
 *
 * Reads use `print terse proplist=… where …` and parse `name=value` tokens; values with
 * spaces are not parsed reliably (RouterOS' terse quoting is unconfirmed, [??]) — the fields
 * the gateway reads never contain spaces.
 *
 * Host keys: pass `hostVerifier` to pin each device's key; without it any key is accepted
 * (acceptable only inside a trusted management VPN).
 *
 * Lifecycle: connections are opened on first use and closed when the scope of `make` (the
 * layer's scope) ends. There is no `layerConfig`: host keys are pinned per device, which an
 * environment variable cannot express; build the options in code and use `layer`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { DeviceGateway } from "@transient-access/core"
import { makePooledGateway } from "./internal/menuGateway.ts"
import { SshPool, sshMenuClient } from "./internal/sshPool.ts"
import type * as Pool from "./internal/sshPool.ts"

/**
 * Options of the SSH transport (see `internal/sshPool.ts`).
 *
 * @category models
 * @since 0.2.0
 */
export type SshOptions = Pool.SshOptions

/**
 * The `DeviceGateway` service over SSH (CLI); its connections are closed when the scope ends.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: SshOptions): Effect.Effect<DeviceGateway.DeviceGateway["Service"], never, Scope.Scope> =>
  makePooledGateway(() => new SshPool(options), sshMenuClient, options)

/**
 * The `DeviceGateway` over SSH (CLI). Connections are closed when the layer's scope ends.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: SshOptions): Layer.Layer<DeviceGateway.DeviceGateway> =>
  Layer.effect(DeviceGateway.DeviceGateway, make(options))
