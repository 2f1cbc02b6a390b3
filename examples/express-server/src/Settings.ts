/**
 * The server's settings, read from the environment through Effect `Config` (the only place
 * that reads it, apart from the adapters' own `layerConfig`s it selects). Every backend is a
 * choice of configuration, not of code:
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `TA_HOST` / `TA_PORT` | `127.0.0.1` / `8080` | where the HTTP server listens (`TA_PORT=0`: any free port) |
 * | `TA_PUBLIC_URL` | the listen URL | base URL devices and users reach this server at (pull-mode check-ins) |
 * | `TA_API_KEYS` | demo: one random admin key | `<key>=<actor>:<role>[+role],…` |
 * | `TA_TRUSTED_PROXIES` | none | comma-separated proxy addresses/CIDRs whose `X-Forwarded-For` is believed |
 * | `TA_STORE` | `pglite` | `pglite` (embedded, `TA_PGLITE_DIR` optional), `postgres` (`TA_DATABASE_URL`, …), `memory` |
 * | `TA_QUEUE` | `memory` | `memory`, `redis` (`TA_REDIS_URL`, `TA_REDIS_PREFIX` default `ta`) |
 * | `TA_REGIONAL` | `relay` | `relay` (`TA_RELAY_BIND_ADDRESS`, …), `iptables` or `nftables` on this host (`TA_NETFILTER_*`) |
 * | `TA_NETFILTER_PREFIX` | none | argv prepended to every netfilter command, space-separated (e.g. `sudo -n`) |
 * | `TA_NETFILTER_PUBLIC_ADDRESS` | none | the server's public address (DNAT and conntrack cuts match only it) |
 * | `TA_NETFILTER_SNAT` | `true` | source-NAT forwarded flows to the region's tunnel address |
 * | `TA_DEVICES` | `simulator` | `simulator` (`TA_SIMULATORS`, default 2), `routeros` (real devices from `TA_INVENTORY`) |
 * | `TA_PULL_DEVICES` | `rtr-2` | simulated devices in pull mode (comma-separated ids) |
 * | `TA_PULL_INTERVAL_SECONDS` | 1 (simulators) / 30 | check-in interval written into bootstrap scripts |
 * | `TA_PULL_APPLY_TIMEOUT_MS` | 5000 (simulators) / 60000 | how long a pull-mode job waits for a confirming check-in (it then fails `Timeout` and is retried; while it waits, the core's job runner polls no other job — keep it short) |
 * | `TA_INVENTORY` | — | JSON file with `{ sites, regions }` (required for `routeros`) |
 * | `TA_ROUTEROS_USER` / `TA_ROUTEROS_PASSWORD` | `transient-access` / — | the SDK's API login on push devices without their own `credentials` (never `ta-…`: that prefix marks temporary users, which the reconciler removes) |
 * | `TA_ROUTEROS_TLS` | `false` | `true`: api-ssl (8729), verified against `TA_ROUTEROS_CA_FILE` or the system CAs |
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

const list = (name: string, fallback = "") =>
  Config.String(name).pipe(
    Config.withDefault(fallback),
    Config.map((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== "")
    )
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
  publicUrl: Config.String("TA_PUBLIC_URL").pipe(Config.option),
  apiKeys: Config.Redacted("TA_API_KEYS").pipe(Config.option),
  trustedProxies: list("TA_TRUSTED_PROXIES"),
  store: Config.Literals(["pglite", "postgres", "memory"], "TA_STORE").pipe(Config.withDefault("pglite" as const)),
  pgliteDir: Config.String("TA_PGLITE_DIR").pipe(Config.option),
  queue: Config.Literals(["memory", "redis"], "TA_QUEUE").pipe(Config.withDefault("memory" as const)),
  redis: Config.all({
    url: Config.Redacted("TA_REDIS_URL").pipe(Config.option),
    prefix: Config.String("TA_REDIS_PREFIX").pipe(Config.withDefault("ta"))
  }),
  regional: Config.Literals(["relay", "iptables", "nftables"], "TA_REGIONAL").pipe(Config.withDefault("relay" as const)),
  netfilter: Config.all({
    prefix: Config.String("TA_NETFILTER_PREFIX").pipe(
      Config.withDefault(""),
      Config.map((text) => text.split(/\s+/).filter((part) => part !== ""))
    ),
    publicAddress: Config.String("TA_NETFILTER_PUBLIC_ADDRESS").pipe(Config.option),
    snat: Config.Boolean("TA_NETFILTER_SNAT").pipe(Config.withDefault(true))
  }),
  devices: Config.Literals(["simulator", "routeros"], "TA_DEVICES").pipe(Config.withDefault("simulator" as const)),
  simulators: Config.Int("TA_SIMULATORS").pipe(Config.withDefault(2)),
  pullDevices: list("TA_PULL_DEVICES", "rtr-2"),
  pullIntervalSeconds: Config.Int("TA_PULL_INTERVAL_SECONDS").pipe(Config.option),
  pullApplyTimeoutMs: Config.Int("TA_PULL_APPLY_TIMEOUT_MS").pipe(Config.option),
  inventory: Config.String("TA_INVENTORY").pipe(Config.option),
  routerOs: Config.all({
    user: Config.String("TA_ROUTEROS_USER").pipe(Config.withDefault("transient-access")),
    password: Config.Redacted("TA_ROUTEROS_PASSWORD").pipe(Config.option),
    tls: Config.Boolean("TA_ROUTEROS_TLS").pipe(Config.withDefault(false)),
    caFile: Config.String("TA_ROUTEROS_CA_FILE").pipe(Config.option)
  }),
  endpointHost: Config.String("TA_ENDPOINT_HOST").pipe(Config.withDefault("127.0.0.1")),
  /** Abuse limits, per minute: failed authentications per source, grant requests per key and per source. */
  rateLimits: Config.all({
    authFailuresPerMinute: Config.Int("TA_RATE_AUTH_FAILURES_PER_MINUTE").pipe(Config.withDefault(30)),
    grantsPerMinute: Config.Int("TA_RATE_GRANTS_PER_MINUTE").pipe(Config.withDefault(60))
  }),
  portRange: Config.String("TA_PORT_RANGE").pipe(
    Config.withDefault("40000-40999"),
    Config.map((text) => {
      const [from = 0, to = 0] = text.split("-").map(Number)
      return { from, to }
    })
  )
})
