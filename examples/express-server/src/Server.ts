/**
 * Starts the whole example: wiring (store, queue, regional gateway, devices), the SDK and
 * its workers, and the HTTP server. The server listens before the app is attached, so the
 * pull-mode bootstrap scripts can carry the server's own URL. `main.ts` and the tests both
 * start it through `startServer`.
 *
 * @since 0.1.0
 */
import { Facade } from "@transient-access/core"
import * as Redacted from "effect/Redacted"
import * as Option from "effect/Option"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { type ApiKeyEntry, generateApiKey, makeApiKeys, parseApiKeys } from "./ApiKeys.ts"
import { makeLimits } from "./Api.ts"
import { makeApp } from "./App.ts"
import type { Settings } from "./Settings.ts"
import { makeWiring, type Wiring } from "./Wiring.ts"

/**
 * A running server.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunningServer {
  readonly url: string
  /** The configured keys (the demo's generated admin key when none were configured). */
  readonly apiKeys: ReadonlyArray<ApiKeyEntry>
  readonly sdk: Facade.TransientAccess
  readonly wiring: Wiring
  readonly stop: () => Promise<void>
}

/**
 * Starts the server with `settings`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startServer = async (settings: Settings): Promise<RunningServer> => {
  const apiKeys = Option.isSome(settings.apiKeys)
    ? parseApiKeys(Redacted.value(settings.apiKeys.value))
    : parseApiKeys(`${generateApiKey()}=demo-admin:admin`)
  const wiring = await makeWiring(settings)
  const sdk = Facade.createTransientAccess(wiring.sdkOptions)
  try {
    await sdk.start()
  } catch (error) {
    await wiring.close()
    throw error
  }
  const server = Http.createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(settings.port, settings.host, () => resolve())
    })
  } catch (error) {
    await sdk.dispose()
    await wiring.close()
    throw error
  }
  const address = server.address() as AddressInfo
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  const app = makeApp({
    sdk,
    apiKeys: makeApiKeys(apiKeys),
    inventory: wiring.inventory,
    trustedProxies: settings.trustedProxies,
    limits: makeLimits(settings.rateLimits),
    pull: await wiring.onListening(url),
    onInternalError: (error, correlationId) =>
      console.error(`internal error (correlation id ${correlationId}):`, error instanceof Error ? error.stack : error)
  })
  server.on("request", app)
  return {
    url,
    apiKeys,
    sdk,
    wiring,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await sdk.dispose()
      await wiring.close()
    }
  }
}
