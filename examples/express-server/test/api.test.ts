/**
 * The REST API in process (embedded PGlite, relay, two simulators): the grant lifecycle,
 * problem+json errors with the SDK tag, API keys → roles, the caller address as default
 * source, the audit log and the OpenAPI document.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AuditLog } from "@transient-access/core"
import type { RunningServer } from "../src/Server.ts"
import { call, keys, startTestServer, waitForGrant } from "./helpers.ts"

let server: RunningServer

beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.stop()
})

describe("REST API", () => {
  it("creates a grant with the caller's address as source, shows the password once, revokes it", async () => {
    const created = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
      key: keys.admin,
      body: { accessType: "ssh", permission: "read-only", ttlSeconds: 900, label: "api test" }
    })
    assert.strictEqual(created.status, 201, created.text)
    assert.strictEqual(created.body.grant.source, "127.0.0.1/32")
    assert.match(created.body.credentials.password, /^[A-Za-z0-9]{24}$/)
    assert.strictEqual(created.body.credentials.host, "127.0.0.1")
    const id = created.body.grant.id

    const ready = await waitForGrant(server.url, keys.admin, id, (grant) => grant.ready)
    assert.strictEqual(ready.state, "active")
    const router = server.wiring.simulators.get("rtr-1")!
    const username = created.body.credentials.username
    assert.strictEqual(router.state.users.find(username)?.props.get("disabled"), "false", "created over the RouterOS API, enabled")
    const expiry = router.state.scheduler.find(`ta-exp-${username}`)
    assert.isDefined(expiry, "the device-side expiry entry exists")
    assert.strictEqual(expiry?.props.get("comment"), `ta:${id}|exp=${Date.parse(ready.expiresAt)}`)
    const fetched = await call(server.url, "GET", `/api/grants/${id}`, { key: keys.admin })
    assert.notInclude(fetched.text, created.body.credentials.password, "the password is shown once only")

    const listed = await call(server.url, "GET", "/api/devices/rtr-1/grants?states=active", { key: keys.admin })
    assert.include(
      listed.body.grants.map((grant) => grant.id),
      id
    )

    const revoked = await call(server.url, "DELETE", `/api/grants/${id}`, { key: keys.admin })
    assert.strictEqual(revoked.status, 200)
    const gone = await waitForGrant(server.url, keys.admin, id, (grant) => grant.state === "revoked")
    assert.strictEqual(gone.state, "revoked")

    assert.isUndefined(router.state.users.find(username), "user removed from the router")
    assert.isUndefined(router.state.scheduler.find(`ta-exp-${username}`), "expiry entry removed")

    const audit = await call(server.url, "GET", `/api/audit?grantId=${id}`, { key: keys.admin })
    const actions = audit.body.events.map((event) => event.action)
    assert.include(actions, "grant.create")
    assert.notInclude(audit.text, created.body.credentials.password, "no password in the audit log")
  })

  it("port forwards: a dst-nat rule with its expiry entry on the router, removed on revoke", async () => {
    const created = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
      key: keys.admin,
      body: {
        kind: "port-forward",
        accessType: "winbox",
        permission: "full",
        ttlSeconds: 600,
        forward: { address: "192.168.88.10", port: 8080 }
      }
    })
    assert.strictEqual(created.status, 201, created.text)
    assert.isNull(created.body.credentials, "a forward has no login")
    const id = created.body.grant.id
    const ready = await waitForGrant(server.url, keys.admin, id, (grant) => grant.ready)
    assert.isTrue(ready.ready)
    const router = server.wiring.simulators.get("rtr-1")!
    const rule = router.state.nat.items.find((row) => row.props.get("comment") === `ta:${id}`)
    assert.isDefined(rule, "dst-nat rule on the router")
    assert.strictEqual(
      rule?.props.get("disabled"),
      "false",
      "enabled once the grant is ready (created disabled, enabled after the locked re-check)"
    )
    assert.strictEqual(rule?.props.get("to-addresses"), "192.168.88.10")
    assert.strictEqual(rule?.props.get("to-ports"), "8080")
    assert.strictEqual(rule?.props.get("dst-port"), String(ready.endpoint.port))
    assert.isDefined(router.state.scheduler.find(`ta-fwd-${id}`))

    await call(server.url, "DELETE", `/api/grants/${id}`, { key: keys.admin })
    const gone = await waitForGrant(server.url, keys.admin, id, (grant) => grant.state === "revoked")
    assert.strictEqual(gone.state, "revoked")
    assert.isUndefined(router.state.nat.items.find((row) => row.props.get("comment") === `ta:${id}`))
    assert.isUndefined(router.state.scheduler.find(`ta-fwd-${id}`))
  })

  it("refuses port forwards aimed off the router's LAN: 422 naming the rule, nothing written", async () => {
    const router = server.wiring.simulators.get("rtr-1")!
    const natBefore = router.state.nat.items.length
    const before = await call(server.url, "GET", "/api/devices/rtr-1/grants", { key: keys.admin })
    const aims: ReadonlyArray<readonly [string, string]> = [
      ["8.8.8.8", "NotInLan"],
      ["0.0.0.0", "Unspecified"],
      ["255.255.255.255", "Broadcast"],
      ["127.0.0.1", "Loopback"],
      ["169.254.169.254", "LinkLocal"],
      ["239.1.2.3", "Multicast"],
      ["::1", "FamilyMismatch"],
      ["192.168.88.1", "RouterAddress"]
    ]
    for (const [address, rule] of aims) {
      const refused = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
        key: keys.admin,
        body: { kind: "port-forward", accessType: "winbox", permission: "full", ttlSeconds: 600, forward: { address, port: 53 } }
      })
      assert.strictEqual(refused.status, 422, `${address}: ${refused.text}`)
      assert.strictEqual(refused.body._tag, "ForwardTargetRefused", address)
      assert.strictEqual(refused.body.rule, rule, address)
      assert.strictEqual(refused.body.field, "forward", address)
    }
    const after = await call(server.url, "GET", "/api/devices/rtr-1/grants", { key: keys.admin })
    assert.deepStrictEqual(
      after.body.grants.map((grant) => grant.id),
      before.body.grants.map((grant) => grant.id),
      "no grant was written"
    )
    assert.strictEqual(router.state.nat.items.length, natBefore, "no rule reached the router")
  })

  it("answers errors as problem+json carrying the typed error's tag", async () => {
    const unauthenticated = await call(server.url, "GET", "/api/sites")
    assert.strictEqual(unauthenticated.status, 401)
    assert.strictEqual(unauthenticated.type, "application/problem+json; charset=utf-8")
    assert.strictEqual(unauthenticated.body._tag, "Unauthorized")

    const viewerFull = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
      key: keys.viewer,
      body: { accessType: "ssh", permission: "full", ttlSeconds: 900 }
    })
    assert.strictEqual(viewerFull.status, 403)
    assert.strictEqual(viewerFull.body._tag, "PolicyDenied")

    const unknownDevice = await call(server.url, "POST", "/api/devices/nope/grants", {
      key: keys.admin,
      body: { accessType: "ssh", permission: "full", ttlSeconds: 900 }
    })
    assert.strictEqual(unknownDevice.status, 404)
    assert.strictEqual(unknownDevice.body._tag, "DeviceNotFound")

    const tooLong = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
      key: keys.admin,
      body: { accessType: "ssh", permission: "full", ttlSeconds: 25 * 3600 }
    })
    assert.strictEqual(tooLong.status, 400)
    assert.strictEqual(tooLong.body._tag, "InvalidRequest")

    const wide = await call(server.url, "POST", "/api/devices/rtr-1/grants", {
      key: keys.admin,
      body: { accessType: "ssh", permission: "full", ttlSeconds: 900, source: "0.0.0.0/0" }
    })
    assert.strictEqual(wide.status, 400)
    assert.strictEqual(wide.body.field, "source")

    const missing = await call(server.url, "GET", "/api/grants/ga_doesnotexist", { key: keys.admin })
    assert.strictEqual(missing.status, 404)
    assert.strictEqual(missing.body._tag, "GrantNotFound")
  })

  it("warns about a wide source but grants it", async () => {
    const created = await call(server.url, "POST", "/api/devices/rtr-2/grants", {
      key: keys.admin,
      body: { accessType: "winbox", permission: "read-only", ttlSeconds: 600, source: "10.0.0.0/16" }
    })
    assert.strictEqual(created.status, 201, created.text)
    assert.isAbove(created.body.warnings.length, 0)
    await call(server.url, "DELETE", `/api/grants/${created.body.grant.id}`, { key: keys.admin })
  })

  it("replays an idempotent request without the password", async () => {
    const body = { accessType: "ssh", permission: "read-only", ttlSeconds: 600 }
    const headers = { "idempotency-key": "retry-me-1" }
    const first = await call(server.url, "POST", "/api/devices/rtr-1/grants", { key: keys.admin, body, headers })
    const second = await call(server.url, "POST", "/api/devices/rtr-1/grants", { key: keys.admin, body, headers })
    assert.strictEqual(first.status, 201)
    assert.strictEqual(second.status, 200)
    assert.strictEqual(second.body.grant.id, first.body.grant.id)
    assert.isNull(second.body.credentials)
    await call(server.url, "DELETE", `/api/grants/${first.body.grant.id}`, { key: keys.admin })
  })

  it("verifies and exports the audit log's hash chain (admins only)", async () => {
    const verified = await fetch(`${server.url}/api/audit/verify`, { headers: { authorization: `Bearer ${keys.admin}` } })
    assert.strictEqual(verified.status, 200)
    const report = (await verified.json()) as { checked: number; broken: unknown }
    assert.isNull(report.broken)
    assert.isAbove(report.checked, 0)
    const exported = await fetch(`${server.url}/api/audit/export`, { headers: { authorization: `Bearer ${keys.admin}` } })
    assert.match(exported.headers.get("content-type") ?? "", /^application\/x-ndjson/)
    const entries = (await exported.text())
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as AuditLog.ChainedEvent)
    assert.strictEqual(entries.length, report.checked)
    assert.isNull(AuditLog.verifyChain(entries).broken, "an auditor verifies the export alone")
    const viewer = await fetch(`${server.url}/api/audit/verify`, { headers: { authorization: `Bearer ${keys.viewer}` } })
    assert.strictEqual(viewer.status, 403)
  })

  it("serves the OpenAPI document and the dashboard", async () => {
    const document = await call(server.url, "GET", "/openapi.json")
    assert.strictEqual(document.body.openapi, "3.1.0")
    assert.property(document.body.paths, "/api/devices/{deviceId}/grants")
    const page = await fetch(`${server.url}/`)
    assert.include(await page.text(), "Transient Access")
  })
})
