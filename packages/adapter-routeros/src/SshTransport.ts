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
 * Host keys fail closed: give each device's pinned fingerprint (`hostKeySha256`), a
 * `hostVerifier` of your own, or — for tests only — `acceptAnyHostKey: true`, which is
 * logged as a warning when the layer is built. A key that does not match refuses the
 * connection (`Unreachable`, retried; the grant never reaches an impostor).
 *
 * Lifecycle: connections are opened on first use and closed when the scope of `make` (the
 * layer's scope) ends. There is no `layerConfig`: host keys are pinned per device, which an
 * environment variable cannot express; build the options in code and use `layer`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { DeviceGateway } from "@transient-access/core"
import { makePooledGateway } from "./internal/menuGateway.ts"
import * as Pool from "./internal/sshPool.ts"

/**
 * Options of the SSH transport (see `internal/sshPool.ts`).
 *
 * @category models
 * @since 0.2.0
 */
export type SshOptions = Pool.SshOptions

/**
 * The host key check of the SSH transport: a pinned fingerprint, a verifier, or an
 * explicit opt-out.
 *
 * @category models
 * @since 0.2.0
 */
export type HostKeyCheck = Pool.HostKeyCheck

/**
 * The OpenSSH-style fingerprint of a public key blob (`SHA256:<base64 without padding>`),
 * to compare with `ssh-keygen -lf` output.
 *
 * @category utils
 * @since 0.2.0
 */
export const fingerprint: (keyBlob: Buffer) => string = Pool.fingerprint

/**
 * The `DeviceGateway` service over SSH (CLI); its connections are closed when the scope ends.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: SshOptions): Effect.Effect<DeviceGateway.DeviceGateway["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    if (options.acceptAnyHostKey === true) {
      yield* Effect.logWarning("RouterOS SSH transport: acceptAnyHostKey is set, so any host key is trusted (tests only)")
    }
    return yield* makePooledGateway(() => new Pool.SshPool(options), Pool.sshMenuClient, options)
  })

/**
 * The `DeviceGateway` over SSH (CLI). Connections are closed when the layer's scope ends.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: SshOptions): Layer.Layer<DeviceGateway.DeviceGateway> =>
  Layer.effect(DeviceGateway.DeviceGateway, make(options))
