/**
 * `pnpm demo`: starts the example server with everything embedded (PGlite, in-memory queue,
 * the user-space relay, two simulated RouterOS devices), then prints the dashboard URL, an
 * API key and a copy-paste walkthrough. Configuration comes from the environment (see
 * `Settings.ts`); Ctrl-C stops it.
 *
 * @since 0.1.0
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { startServer } from "./Server.ts"
import { settingsConfig } from "./Settings.ts"
import { walkthrough } from "./Walkthrough.ts"

const settings = await Effect.runPromise(
  settingsConfig.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv()))
)
const server = await startServer(settings)
const apiKey = server.apiKeys[0]?.key ?? ""
if (process.env["TA_READY_JSON"] === "1") {
  console.log(JSON.stringify({ ready: true, url: server.url, apiKey }))
} else {
  console.log(walkthrough({ url: server.url, apiKey, inventory: server.wiring.inventory }))
}

let stopping = false
const shutdown = () => {
  if (stopping) return
  stopping = true
  server.stop().then(() => process.exit(0), () => process.exit(1))
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
