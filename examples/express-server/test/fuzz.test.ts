/**
 * HTTP input fuzzing with fast-check: random and hostile bodies (bad CIDRs, TTL 0 or 25 h,
 * quotes and newlines, wrong types, unknown keys, huge payloads, broken JSON) must get a 4xx
 * problem+json, never a 5xx, and must write nothing (no grant, no audit event, no relay
 * path). Failing runs print fast-check's seed and path.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { RunningServer } from "../src/Server.ts"
import { call, keys, startTestServer } from "./helpers.ts"

let server: RunningServer

beforeAll(async () => {
  server = await startTestServer({ simulators: 1 })
})
afterAll(async () => {
  await server?.stop()
})

const hostileString = fc.oneof(
  fc.string(),
  fc.constantFrom(
    "'",
    '"',
    "\n",
    "\r\n",
    "\\",
    // a RouterOS/shell variable reference, on purpose
    // biome-ignore lint/suspicious/noTemplateCurlyInString: hostile input, not a template
    "${x}",
    "$(reboot)",
    "`id`",
    ";",
    "/system reset-configuration",
    "\u0000",
    "ta:evil",
    "0.0.0.0/0",
    "::/0"
  ),
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.string({ minLength: 200, maxLength: 2_000 })
)

const badSource = fc.oneof(
  fc.constantFrom(
    "0.0.0.0/0",
    "::/0",
    "10.0.0.1/24",
    "010.0.0.0/8",
    "10.0.0.0/33",
    "::ffff:10.0.0.1/128",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.4/32\n",
    "1.2.3.4/32;reboot",
    "fe80::1%eth0",
    "127.1",
    "0x7f.0.0.1",
    "1.2.3.4//32",
    "1.2.3.4/+32",
    "1.2.3.4/032",
    ""
  ),
  hostileString.filter((text) => !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(text))
)

const badTtl = fc.oneof(
  fc.constantFrom(0, -1, 59, 25 * 3600, 86_401, 1.5, Number.MAX_SAFE_INTEGER, "3600", null, true, [], {}),
  fc.integer({ min: 86_401 }),
  fc.integer({ max: 59 })
)

const validBase = { accessType: "ssh", permission: "read-only", ttlSeconds: 900, source: "127.0.0.1/32" }

/** A body that is wrong in at least one way. */
const hostileBody = fc.oneof(
  badSource.map((source) => ({ ...validBase, source })),
  badTtl.map((ttlSeconds) => ({ ...validBase, ttlSeconds })),
  hostileString.filter((text) => text !== "ssh" && text !== "winbox").map((accessType) => ({ ...validBase, accessType })),
  hostileString.filter((text) => text !== "full" && text !== "read-only").map((permission) => ({ ...validBase, permission })),
  fc.string({ minLength: 201, maxLength: 400 }).map((label) => ({ ...validBase, label })),
  // a control character anywhere in free text (NUL would be a 503 on PostgreSQL otherwise)
  fc
    .tuple(
      fc.string({ maxLength: 20 }),
      fc.integer({ min: 0, max: 0x9f }).filter((code) => code < 0x20 || code >= 0x7f),
      fc.string({ maxLength: 20 })
    )
    .map(([before, code, after]) => ({ ...validBase, label: `${before}${String.fromCharCode(code)}${after}` })),
  fc
    .dictionary(
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((key) => !(key in validBase) && key !== "label" && key !== "kind" && key !== "forward"),
      fc.jsonValue(),
      { minKeys: 1, maxKeys: 3 }
    )
    .map((extra) => ({ ...validBase, ...extra })),
  fc
    .record({
      kind: fc.constantFrom("port-forward"),
      forward: fc.record({ address: hostileString, port: fc.integer({ min: -5, max: 70_000 }) })
    })
    .map((extra) => ({ ...validBase, ...extra })),
  fc.jsonValue().filter((value) => value === null || typeof value !== "object" || Array.isArray(value)),
  fc.object().map((value) => ({ ...value, accessType: 7 }))
)

/** Raw payloads: broken JSON, huge bodies. */
const hostileRaw = fc.oneof(
  fc.constantFrom("{", '{"accessType":', "nul", "[1,2", '"\\u0000"', '{"a":1}}'),
  fc.integer({ min: 17, max: 64 }).map((kib) => JSON.stringify({ ...validBase, label: "x".repeat(kib * 1024) }))
)

const snapshot = async () => {
  const grants = await call(server.url, "GET", "/api/devices/rtr-1/grants?limit=500", { key: keys.admin })
  const audit = await call(server.url, "GET", "/api/audit?limit=1000", { key: keys.admin })
  return { grants: grants.body.grants.length, audit: audit.body.events.length }
}

const assertProblem = (response: Awaited<ReturnType<typeof call>>, what: string) => {
  assert.isAtLeast(response.status, 400, what)
  assert.isBelow(response.status, 500, `${what}: ${response.text}`)
  assert.match(response.type, /^application\/problem\+json/, what)
  assert.isString(response.body._tag, what)
}

describe("HTTP fuzzing", () => {
  it("hostile JSON bodies get 4xx problem+json and write nothing", async () => {
    const before = await snapshot()
    await fc.assert(
      fc.asyncProperty(hostileBody, async (body) => {
        const response = await call(server.url, "POST", "/api/devices/rtr-1/grants", { key: keys.admin, body })
        assertProblem(response, JSON.stringify(body).slice(0, 200))
      }),
      { numRuns: 300 }
    )
    assert.deepStrictEqual(await snapshot(), before)
    assert.deepStrictEqual(await server.sdk.stats().then((stats) => stats.outboxPending), 0)
  })

  it("broken and oversized payloads, wrong content types and hostile paths get 4xx problem+json", async () => {
    const before = await snapshot()
    await fc.assert(
      fc.asyncProperty(hostileRaw, async (rawBody) => {
        const response = await call(server.url, "POST", "/api/devices/rtr-1/grants", { key: keys.admin, rawBody })
        assertProblem(response, rawBody.slice(0, 100))
      }),
      { numRuns: 40 }
    )
    const textBody = await fetch(`${server.url}/api/devices/rtr-1/grants`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.admin}`, "content-type": "text/plain" },
      body: "accessType=ssh"
    })
    assert.strictEqual(textBody.status, 415)
    await fc.assert(
      fc.asyncProperty(hostileString, async (segment) => {
        const response = await call(server.url, "GET", `/api/grants/${encodeURIComponent(segment)}`, { key: keys.admin })
        assertProblem(response, segment)
        const list = await call(
          server.url,
          "GET",
          `/api/devices/rtr-1/grants?states=${encodeURIComponent(segment)}&limit=${encodeURIComponent(segment)}`,
          { key: keys.admin }
        )
        if (list.status !== 200) assertProblem(list, segment)
      }),
      { numRuns: 100 }
    )
    assert.deepStrictEqual(await snapshot(), before)
  })

  it("a corrupt compressed body is a 400, and the Bearer scheme is matched case-insensitively", async () => {
    for (const encoding of ["gzip", "deflate", "br"]) {
      const response = await fetch(`${server.url}/api/devices/rtr-1/grants`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.admin}`, "content-type": "application/json", "content-encoding": encoding },
        body: "this is not a compressed stream"
      })
      const text = await response.text()
      assert.strictEqual(response.status, 400, `${encoding}: ${text}`)
      assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/)
    }
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `${scheme} ${keys.admin}` } })
      assert.strictEqual(response.status, 200, scheme)
    }
  })
})
