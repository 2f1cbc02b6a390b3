/**
 * The server's settings, read from the environment through Effect `Config` (the only place
 * that reads it). Every backend is a choice of configuration, not of code:
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `TA_HOST` / `TA_PORT` | `127.0.0.1` / `8080` | where the HTTP server listens (`TA_PORT=0`: any free port) |
 * | `TA_API_KEYS` | demo: one random admin key | `<key>=<actor>:<role>[+role],…` |
 * | `TA_TRUSTED_PROXIES` | none | comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed |
 * | `TA_STORE` | `pglite` | `pglite` (embedded, `TA_PGLITE_DIR` optional), `postgres` (`TA_DATABASE_URL`, …), `memory` |
 * | `TA_QUEUE` | `memory` | `memory`, `redis` (`TA_REDIS_URL`, …) |
 * | `TA_REGIONAL` | `relay` | `relay` (`TA_RELAY_BIND_ADDRESS`, …) |
 * | `TA_DEVICES` | `simulator` | `simulator` (`TA_SIMULATORS`, default 2), `routeros` (real devices from `TA_INVENTORY`) |
 * | `TA_INVENTORY` | — | JSON file with `{ sites, regions }` (required for `routeros`) |
 * | `TA_ENDPOINT_HOST` | `127.0.0.1` | public host of the embedded relay's region |
 * | `TA_PORT_RANGE` | `40000-40999` | ports the embedded region hands out |
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"

/**
 * The settings.
 *
 * @category models
 * @since 0.1.0
 */
export type Settings = Config.Success<typeof settingsConfig>

const list = (name: string) =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.map((text) => text.split(",").map((part) => part.trim()).filter((part) => part !== ""))
  )

/**
 * The settings as a `Config`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const settingsConfig = Config.all({
  host: Config.String("TA_HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.Int("TA_PORT").pipe(Config.withDefault(8080)),
  apiKeys: Config.Redacted("TA_API_KEYS").pipe(Config.option),
  trustedProxies: list("TA_TRUSTED_PROXIES"),
  store: Config.Literals(["pglite", "postgres", "memory"], "TA_STORE").pipe(Config.withDefault("pglite" as const)),
  pgliteDir: Config.String("TA_PGLITE_DIR").pipe(Config.option),
  queue: Config.Literals(["memory", "redis"], "TA_QUEUE").pipe(Config.withDefault("memory" as const)),
  regional: Config.Literals(["relay"], "TA_REGIONAL").pipe(Config.withDefault("relay" as const)),
  devices: Config.Literals(["simulator", "routeros"], "TA_DEVICES").pipe(Config.withDefault("simulator" as const)),
  simulators: Config.Int("TA_SIMULATORS").pipe(Config.withDefault(2)),
  inventory: Config.String("TA_INVENTORY").pipe(Config.option),
  endpointHost: Config.String("TA_ENDPOINT_HOST").pipe(Config.withDefault("127.0.0.1")),
  portRange: Config.String("TA_PORT_RANGE").pipe(
    Config.withDefault("40000-40999"),
    Config.map((text) => {
      const [from = 0, to = 0] = text.split("-").map(Number)
      return { from, to }
    })
  )
})
