/**
 * Unexpected failures never tell internals: a store failure whose message carries the
 * database's own text reaches the client as a generic problem with a correlation id; the
 * log gets the error under the same id.
 */
import { assert, describe, it } from "@effect/vitest"
import { StoreError, type TransientAccess } from "@transient-access/core"
import type { AddressInfo } from "node:net"
import { makeApiKeys, parseApiKeys } from "../src/ApiKeys.ts"
import { makeApp } from "../src/App.ts"

const key = "problems-admin-key-0123456789"
const secretText = 'invalid byte sequence for encoding "UTF8": 0x00 at relation grants (pg internal)'

/** A facade whose every call fails the way an unreachable database does. */
const failing = new Proxy({} as TransientAccess, {
  get: () => () => Promise.reject(new StoreError({ reason: "Unavailable", message: secretText }))
})

describe("5xx problems", () => {
  it("say the tag and a correlation id, never the store's message; the log has it", async () => {
    const logged: Array<{ readonly error: unknown; readonly correlationId: string }> = []
    const app = makeApp({
      sdk: failing,
      apiKeys: makeApiKeys(parseApiKeys(`${key}=alice:admin`)),
      inventory: { sites: [], regions: [] },
      trustedProxies: [],
      onInternalError: (error, correlationId) => logged.push({ error, correlationId })
    })
    const server = app.listen(0, "127.0.0.1")
    await new Promise((resolve) => server.once("listening", resolve))
    try {
      const { port } = server.address() as AddressInfo
      const response = await fetch(`http://127.0.0.1:${port}/api/grants/ga_x`, { headers: { authorization: `Bearer ${key}` } })
      const body = (await response.json()) as { _tag: string; detail: string; correlationId: string }
      assert.strictEqual(response.status, 503)
      assert.strictEqual(body._tag, "StoreError")
      assert.notInclude(JSON.stringify(body), "pg internal")
      assert.match(body.correlationId, /^[0-9a-f-]{36}$/)
      assert.include(body.detail, body.correlationId)
      assert.strictEqual(logged.length, 1)
      assert.strictEqual(logged[0]?.correlationId, body.correlationId)
      assert.include(String((logged[0]?.error as Error | undefined)?.message), "pg internal")
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
