/**
 * Push transport over the RouterOS API (`api` 8728 or `api-ssl` 8729) with node-routeros
 * 1.6.9, hardened against its defects (`internal/nodeRouterosPatches.ts`,
 * `internal/apiPool.ts`):
 *
 * - one connection per device, reused by concurrent calls (tagged commands) and
 *   re-established after any error, idle timeout, `!fatal` or close;
 * - an `'error'` listener on every instance, so an idle timeout never kills the process;
 * - a deadline on every call (`callTimeoutMs`); a call past it fails with `Timeout` and its
 *   connection is discarded; a close fails every in-flight call with `Unreachable` at once;
 * - the port is always explicit (TLS: 8729 unless configured), never node-routeros' default;
 * - words that Windows-1252 cannot carry are refused (`Rejected`) instead of silently
 *   becoming `?`;
 * - traps map to typed reasons (`no such item` → `NotFound`, login failures and invalid input
 *   → `Rejected`, …). Passwords are sent only inside `=password=` words and never logged.
 *
 * Lifecycle: connections are opened on first use and closed when the scope of `make` (the
 * layer's scope) ends. `layer(options)` is the primary layer; `layerConfig` reads one login
 * for every device from `TA_ROUTEROS_USER` (default `transient-access`) and
 * `TA_ROUTEROS_PASSWORD` (`Config.Redacted`), and `TA_ROUTEROS_TLS` (default `false`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { DeviceGateway } from "@transient-access/core"
import { ApiPool, apiMenuClient } from "./internal/apiPool.ts"
import type * as Pool from "./internal/apiPool.ts"
import { makePooledGateway } from "./internal/menuGateway.ts"

/**
 * Options of the API transport (see `internal/apiPool.ts`).
 *
 * @category models
 * @since 0.2.0
 */
export type ApiOptions = Pool.ApiOptions

/**
 * The API login of one device.
 *
 * @category models
 * @since 0.2.0
 */
export type ApiCredentials = Pool.ApiCredentials

/**
 * The `DeviceGateway` service over the RouterOS API; its connections are closed when the
 * scope ends.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (options: ApiOptions): Effect.Effect<DeviceGateway.DeviceGateway["Service"], never, Scope.Scope> =>
  makePooledGateway(() => new ApiPool(options), apiMenuClient, options)

/**
 * The `DeviceGateway` over the RouterOS API. Connections are closed when the layer's scope ends.
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (options: ApiOptions): Layer.Layer<DeviceGateway.DeviceGateway> =>
  Layer.effect(DeviceGateway.DeviceGateway, make(options))

/**
 * The `DeviceGateway` over the RouterOS API with one login for every device, read from
 * `Config`: `TA_ROUTEROS_USER` (default `transient-access`), `TA_ROUTEROS_PASSWORD`
 * (`Config.Redacted`, required) and `TA_ROUTEROS_TLS` (default `false`; `true`: api-ssl
 * verified against the system CAs — for a private CA use `layer` with `tls: { ca }`). The
 * other options are given in code.
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConfig = (
  options: Omit<ApiOptions, "credentials" | "tls"> = {}
): Layer.Layer<DeviceGateway.DeviceGateway, Config.ConfigError> =>
  Layer.unwrap(
    Effect.map(
      Config.all({
        user: Config.String("TA_ROUTEROS_USER").pipe(Config.withDefault("transient-access")),
        password: Config.Redacted("TA_ROUTEROS_PASSWORD"),
        apiSsl: Config.Boolean("TA_ROUTEROS_TLS").pipe(Config.withDefault(false))
      }),
      ({ apiSsl, password, user }) => layer({ ...options, credentials: () => ({ user, password }), tls: apiSsl })
    )
  )
