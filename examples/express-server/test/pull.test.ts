/**
 * Pull mode end to end: `rtr-2` is a simulated pull-mode device, bootstrapped at start-up
 * with the server's own bootstrap script; its scheduler runs `/tool fetch` against
 * `POST /device/rtr-2/checkin` every second and `/import`s the reply. A grant on it becomes
 * a user (with its device-side expiry entry) only through check-ins; a revoke removes both
 * at a later check-in. Also: the bootstrap endpoint (admins only, token rotation, push
 * devices refused) and the check-in's refusals (bad token, unreadable report, fuzzed with
 * fast-check: always 4xx problem+json).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { SimulatorHandle } from "@transient-access/adapter-routeros/testing"
import * as fc from "fast-check"
import type { RunningServer } from "../src/Server.ts"
import { call, keys, startTestServer, waitForGrant } from "./helpers.ts"

let server: RunningServer
let device: SimulatorHandle

beforeAll(async () => {
  server = await startTestServer()
  device = server.wiring.simulators.get("rtr-2")!
})
afterAll(async () => {
  await server?.stop()
})

/** The sequence number the device recorded as applied (`/system script ta-seq`). */
const appliedSequence = () => Number(device.state.scripts.find("ta-seq")?.props.get("source") ?? "-1")

const grantAndRevoke = async (label: string) => {
  const created = await call(server.url, "POST", "/api/devices/rtr-2/grants", {
    key: keys.admin,
    body: { accessType: "ssh", permission: "read-only", ttlSeconds: 900, label }
  })
  assert.strictEqual(created.status, 201, created.text)
  const { grant, credentials } = created.body
  const before = appliedSequence()

  const ready = await waitForGrant(server.url, keys.admin, grant.id, (g) => g.ready)
  assert.isTrue(ready.ready, "the grant became ready through check-ins")
  const user = device.state.users.find(credentials.username)
  assert.isDefined(user, "the user exists on the pull device")
  assert.strictEqual(user?.props.get("disabled"), "false")
  assert.strictEqual(user?.props.get("comment"), `ta:${grant.id}`)
  assert.isDefined(device.state.scheduler.find(`ta-exp-${credentials.username}`), "device-side expiry entry")
  assert.isAbove(appliedSequence(), before, "the device applied newer sequence numbers")

  const revoked = await call(server.url, "DELETE", `/api/grants/${grant.id}`, { key: keys.admin })
  assert.strictEqual(revoked.status, 200)
  const gone = await waitForGrant(server.url, keys.admin, grant.id, (g) => g.state === "revoked")
  assert.strictEqual(gone.state, "revoked")
  assert.isUndefined(device.state.users.find(credentials.username), "the user is gone from the pull device")
  assert.isUndefined(device.state.scheduler.find(`ta-exp-${credentials.username}`), "its expiry entry too")
}

describe("pull mode (rtr-2 checks in over HTTP)", () => {
  it("grant -> check-in -> user on the device -> revoke -> next check-in -> user gone", async () => {
    assert.isDefined(device.state.scheduler.find("ta-checkin"), "bootstrapped at start-up")
    await grantAndRevoke("pull e2e")
  })

  it("bootstrap: admins only, push devices refused; the old token works until the new script runs (or is revoked at once)", async () => {
    const viewer = await call(server.url, "POST", "/api/devices/rtr-2/bootstrap", { key: keys.viewer })
    assert.strictEqual(viewer.status, 403)
    assert.strictEqual(viewer.body._tag, "PolicyDenied")
    const push = await call(server.url, "POST", "/api/devices/rtr-1/bootstrap", { key: keys.admin })
    assert.strictEqual(push.status, 409)
    assert.strictEqual(push.body._tag, "NotPullDevice")
    const unknown = await call(server.url, "POST", "/api/devices/nope/bootstrap", { key: keys.admin })
    assert.strictEqual(unknown.status, 404)

    const bootstrap = await call(server.url, "POST", "/api/devices/rtr-2/bootstrap", { key: keys.admin })
    assert.strictEqual(bootstrap.status, 200)
    assert.match(bootstrap.type, /^text\/plain/)
    assert.include(bootstrap.text, `${server.url}/device/rtr-2/checkin`)
    assert.include(bootstrap.text, "/tool fetch")
    const audit = await call(server.url, "GET", "/api/audit?limit=20", { key: keys.admin })
    assert.include(
      audit.body.events.map((event) => event.action),
      "device.bootstrap"
    )

    // the router still runs on the old token: it keeps checking in, so its grants are never
    // stranded while the operator has not pasted the new script yet
    await grantAndRevoke("before the new script runs")
    const firstScript = device.state.scripts.find("ta-checkin")?.props.get("source") ?? ""
    await device.run(bootstrap.text)
    await grantAndRevoke("after re-bootstrap")
    // once the new token was used, the old one is refused
    const old = /Bearer ([A-Za-z0-9_-]+)/.exec(firstScript)?.[1] ?? ""
    assert.isAtLeast(old.length, 40, "the old token was read off the router")
    const refused = await fetch(`${server.url}/device/rtr-2/checkin`, {
      method: "POST",
      headers: { authorization: `Bearer ${old}`, "content-type": "text/plain" },
      body: "seq=0"
    })
    assert.strictEqual(refused.status, 401, "the retired token is refused")

    // a leaked token: revokePrevious stops the running router's token at once
    const revoking = await call(server.url, "POST", "/api/devices/rtr-2/bootstrap?revokePrevious=true", { key: keys.admin })
    assert.strictEqual(revoking.status, 200)
    const stale = await device.run("/system script run ta-checkin").then(
      () => "accepted",
      (error: unknown) => String(error)
    )
    assert.include(stale, "401", "the revoked token is refused")
    await device.run(revoking.text)
    await grantAndRevoke("after a revoking re-bootstrap")
  })

  it("check-in refusals: bad token 401, unreadable report 400, push device 401", async () => {
    const checkIn = (deviceId: string, authorization: string, body: string) =>
      fetch(`${server.url}/device/${deviceId}/checkin`, { method: "POST", headers: { authorization, "content-type": "text/plain" }, body })
    const badToken = await checkIn("rtr-2", "Bearer not-the-token", "seq=0")
    assert.strictEqual(badToken.status, 401)
    assert.match(badToken.headers.get("content-type") ?? "", /^application\/problem\+json/)
    assert.strictEqual(((await badToken.json()) as { _tag: string })._tag, "Unauthorized")
    const pushDevice = await checkIn("rtr-1", "Bearer x", "seq=0")
    assert.strictEqual(pushDevice.status, 401)

    const bootstrap = await call(server.url, "POST", "/api/devices/rtr-2/bootstrap", { key: keys.admin })
    const token = /Bearer ([A-Za-z0-9_-]+)/.exec(bootstrap.text)?.[1] ?? ""
    await device.run(bootstrap.text)
    const unreadable = await checkIn("rtr-2", `Bearer ${token}`, "no report here")
    assert.strictEqual(unreadable.status, 400)
    assert.strictEqual(((await unreadable.json()) as { _tag: string })._tag, "InvalidRequest")

    // hostile tokens and bodies: always a 4xx problem, never a script, never a 5xx
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constant(`Bearer ${token}x`),
          fc.string().map((text) => `Bearer ${text}`)
        ),
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary", maxLength: 300 }),
          fc.constantFrom("seq=", "seq=-1", "seq=1e3", "&seq=1", "users=ta-x")
        ),
        async (authorization, body) => {
          const response = await fetch(`${server.url}/device/rtr-2/checkin`, {
            method: "POST",
            headers: { authorization: authorization.replace(/[^\x20-\x7e]/g, ""), "content-type": "text/plain" },
            body
          })
          assert.oneOf(response.status, [400, 401], `${authorization} / ${body}`)
          assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/)
        }
      ),
      { numRuns: 150 }
    )
  })
})
