/**
 * `pnpm demo`: starts the example server with everything embedded (PGlite, in-memory queue,
 * the user-space relay, two simulated RouterOS devices), then prints the dashboard URL, the
 * generated admin API key (never a key configured in `TA_API_KEYS`) and a copy-paste walkthrough. Configuration comes from the environment (see
 * `Settings.ts`); Ctrl-C stops it.
 *
 * @since 0.1.0
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { startServer } from "./Server.ts"
import { settingsConfig } from "./Settings.ts"
import { walkthrough } from "./Walkthrough.ts"

const settings = await Effect.runPromise(
  settingsConfig.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv()))
)
const server = await startServer(settings)
// only the key generated for the demo is printed; keys from TA_API_KEYS never reach stdout
const apiKey = Option.isNone(settings.apiKeys) ? server.apiKeys[0]?.key : undefined
if (process.env["TA_READY_JSON"] === "1") {
  console.log(JSON.stringify({ ready: true, url: server.url, apiKey: apiKey ?? null }))
} else {
  console.log(walkthrough({ url: server.url, apiKey, inventory: server.wiring.inventory }))
}

let stopping = false
const shutdown = () => {
  if (stopping) return
  stopping = true
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1)
  )
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
