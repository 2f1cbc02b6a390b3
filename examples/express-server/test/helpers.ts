/**
 * Test helpers: start the example server in process or as the real `node src/main.ts`
 * process, and talk to its API.
 */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { type RunningServer, startServer } from "../src/Server.ts"
import { type Settings, settingsConfig } from "../src/Settings.ts"

/** Keys every test server accepts. */
export const keys = {
  admin: `admin-${Crypto.randomBytes(12).toString("hex")}`,
  viewer: `viewer-${Crypto.randomBytes(12).toString("hex")}`
}
const apiKeysText = `${keys.admin}=alice:admin,${keys.viewer}=victor:viewer`

/** A port range of 50 ports unlikely to collide with other test files. */
export const randomPortRange = () => {
  const from = 22_000 + Math.floor(Math.random() * 200) * 50
  return { from, to: from + 49 }
}

/** The defaults of every setting, as an empty environment gives them. */
const defaults: Settings = Effect.runSync(
  settingsConfig.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} })))
)

/** Settings for an in-process test server (embedded everything, random ports). */
export const testSettings = (overrides: Partial<Settings> = {}): Settings => ({
  ...defaults,
  port: 0,
  apiKeys: Option.some(Redacted.make(apiKeysText)),
  portRange: randomPortRange(),
  // the fuzz tests send hundreds of requests a minute; limits.test.ts sets its own
  rateLimits: { authFailuresPerMinute: 100_000, grantsPerMinute: 100_000 },
  ...overrides
})

/** Starts the server in this process. */
export const startTestServer = (overrides: Partial<Settings> = {}): Promise<RunningServer> => startServer(testSettings(overrides))

/** A demo started exactly as `pnpm demo` starts it (`node src/main.ts`). */
export interface DemoProcess {
  readonly url: string
  /** The generated key the demo prints; null when keys are configured (they are never printed). */
  readonly apiKey: string | null
  readonly stop: () => Promise<void>
}

/** Spawns `node src/main.ts` and waits for its ready line. */
export const startDemoProcess = (env: Record<string, string> = {}): Promise<DemoProcess> =>
  new Promise((resolve, reject) => {
    const range = randomPortRange()
    const child: ChildProcess = spawn(process.execPath, [Path.join(import.meta.dirname, "..", "src", "main.ts")], {
      env: {
        ...process.env,
        TA_PORT: "0",
        TA_READY_JSON: "1",
        TA_PORT_RANGE: `${range.from}-${range.to}`,
        TA_API_KEYS: apiKeysText,
        ...env
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`demo did not start in 60 s\n${stderr}`)), 60_000)
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("exit", (code) => reject(new Error(`demo exited with ${code}\n${stderr}`)))
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split("\n").find((candidate) => candidate.startsWith("{"))
      if (line === undefined) return
      clearTimeout(timer)
      const ready = JSON.parse(line) as { readonly url: string; readonly apiKey: string | null }
      resolve({
        url: ready.url,
        apiKey: ready.apiKey,
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners("exit")
            child.once("exit", () => done())
            child.kill("SIGTERM")
          })
      })
    })
  })

/** A grant as the API shows it (the fields the tests read). */
export interface GrantView {
  readonly id: string
  readonly state: "pending" | "active" | "revoking" | "revoked"
  readonly ready: boolean
  readonly source: string
  readonly endpoint: { readonly host: string; readonly port: number }
  readonly username: string
  readonly expiresAt: string
}

/** What the API answers (the union of the shapes the tests read). */
export interface Body {
  readonly grant: GrantView
  readonly grants: ReadonlyArray<GrantView>
  readonly events: ReadonlyArray<{ readonly action: string; readonly grantId: string | null; readonly details: Record<string, unknown> }>
  readonly warnings: ReadonlyArray<string>
  readonly credentials: {
    readonly username: string
    readonly password: string
    readonly host: string
    readonly port: number
    readonly sshCommand: string | null
  }
  readonly _tag: string
  readonly status: number
  readonly detail: string
  readonly field?: string
  readonly rule?: string
  readonly callerAddress: string | null
  readonly openapi: string
  readonly paths: Record<string, unknown>
}

/** One API call; returns status, content type and parsed body (typed loosely for assertions). */
export const call = async (
  url: string,
  method: string,
  path: string,
  options: { readonly key?: string; readonly body?: unknown; readonly rawBody?: string; readonly headers?: Record<string, string> } = {}
) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.key !== undefined ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined || options.rawBody !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.rawBody !== undefined ? { body: options.rawBody } : {})
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: body as Body, text }
}

/** Polls a grant until `done` holds (or 30 s pass). */
export const waitForGrant = async (url: string, key: string, grantId: string, done: (grant: GrantView) => boolean): Promise<GrantView> => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const { body } = await call(url, "GET", `/api/grants/${grantId}`, { key })
    if (done(body.grant) || Date.now() > deadline) return body.grant
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
