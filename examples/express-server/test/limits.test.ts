/**
 * Abuse limits and honest 401/404s: failed authentications and grant requests are limited
 * (429 problem+json with Retry-After, the limits are settings); a 401 carries
 * `WWW-Authenticate` and says whether the key was missing or wrong; an unknown device is 404
 * on every verb; `/openapi.json` does not repeat the request's Host header. The limiter's
 * refill is checked on its own with an injected clock.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { RunningServer } from "../src/Server.ts"
import { makeLimiter } from "../src/RateLimit.ts"
import { call, keys, startTestServer } from "./helpers.ts"

let server: RunningServer

beforeAll(async () => {
  server = await startTestServer({ rateLimits: { authFailuresPerMinute: 5, grantsPerMinute: 3 } })
})
afterAll(async () => {
  await server?.stop()
})

describe("abuse limits", () => {
  it("a 401 says whether the key was missing or wrong, with a WWW-Authenticate challenge", async () => {
    const missing = await fetch(`${server.url}/api/me`)
    assert.strictEqual(missing.status, 401)
    assert.strictEqual(missing.headers.get("www-authenticate"), 'Bearer realm="transient-access"')
    assert.include(((await missing.json()) as { detail: string }).detail, "no API key")
    const wrong = await fetch(`${server.url}/api/me`, { headers: { authorization: "Bearer not-a-key" } })
    assert.strictEqual(wrong.status, 401)
    assert.include(wrong.headers.get("www-authenticate") ?? "", 'error="invalid_token"')
    assert.include(((await wrong.json()) as { detail: string }).detail, "unknown API key")
  })

  it("failed authentications are limited per source: 429 with Retry-After, valid keys still pass", async () => {
    const statuses: Array<number> = []
    let retryAfter: string | null = null
    for (let attempt = 0; attempt < 8; attempt++) {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer wrong-${attempt}` } })
      statuses.push(response.status)
      if (response.status === 429) {
        retryAfter = response.headers.get("retry-after")
        assert.strictEqual(((await response.json()) as { _tag: string })._tag, "RateLimited")
      }
    }
    assert.include(statuses, 429, statuses.join(","))
    assert.isAtMost(statuses.filter((status) => status === 401).length, 5)
    assert.match(retryAfter ?? "", /^\d+$/)
    assert.strictEqual((await call(server.url, "GET", "/api/me", { key: keys.admin })).status, 200)
  })

  it("grant requests are limited per key", async () => {
    const body = { accessType: "ssh", permission: "read-only", ttlSeconds: 900 }
    const statuses: Array<number> = []
    for (let attempt = 0; attempt < 5; attempt++) {
      statuses.push((await call(server.url, "POST", "/api/devices/rtr-1/grants", { key: keys.viewer, body })).status)
    }
    assert.deepStrictEqual(statuses.slice(0, 3), [201, 201, 201])
    assert.strictEqual(statuses[3], 429)
  })

  it("an unknown device is 404 on every verb, and the OpenAPI document names no Host", async () => {
    const list = await call(server.url, "GET", "/api/devices/no-such-router/grants", { key: keys.admin })
    assert.strictEqual(list.status, 404)
    assert.strictEqual(list.body._tag, "DeviceNotFound")
    const document = await fetch(`${server.url}/openapi.json`, { headers: { host: "evil.example" } })
    const text = await document.text()
    assert.notInclude(text, "evil.example")
    assert.deepStrictEqual((JSON.parse(text) as { servers: unknown }).servers, [{ url: "/" }])
  })
})

describe("the token bucket", () => {
  it("allows a burst, then one token per 60/perMinute seconds", () => {
    let now = 0
    const limiter = makeLimiter({ perMinute: 6, burst: 2 }, () => now)
    assert.isUndefined(limiter.take("k"))
    assert.isUndefined(limiter.take("k"))
    assert.strictEqual(limiter.take("k"), 10)
    assert.isUndefined(limiter.take("other"), "keys are independent")
    now = 10_000
    assert.isUndefined(limiter.take("k"))
    assert.isDefined(limiter.take("k"))
  })
})
