// The README's "Using the SDK", as a program (`pnpm --filter @transient-access/example-quick-start start`).
// Point it at a router with ROUTER_ADDRESS, ROUTER_API_PORT, ROUTER_SSH_PORT, ROUTER_USER and
// ROUTER_PASSWORD; its test runs it against the RouterOS simulator.
// quick-start:begin
import { createTransientAccess, revealPassword } from "@transient-access/core"
import { RelayGateway } from "@transient-access/adapter-relay"
import { ApiTransport } from "@transient-access/adapter-routeros"
import * as Redacted from "effect/Redacted"

const env = (name: string, fallback: string) => process.env[name] ?? fallback

// Your inventory: the regional servers and the routers behind their management VPN.
const regions = [{ id: "eu-1", endpointHost: "127.0.0.1", portRange: { from: 41000, to: 41099 }, tunnelAddress: "127.0.0.1" }]
const devices = [
  {
    id: "router-1",
    regionId: "eu-1",
    tunnelAddress: env("ROUTER_ADDRESS", "10.8.0.2"), // the router's address inside the tunnel
    ports: { ssh: Number(env("ROUTER_SSH_PORT", "22")), winbox: 8291, api: Number(env("ROUTER_API_PORT", "8728")) },
    mode: "push" as const
  }
]

const sdk = createTransientAccess({
  regional: RelayGateway.layer(), // a user-space relay on this host (NetfilterGateway for iptables/nftables)
  device: ApiTransport.layer({
    credentials: () => ({ user: env("ROUTER_USER", "transient-access"), password: Redacted.make(env("ROUTER_PASSWORD", "")) })
  }),
  devices,
  regions
}) // store and queue default to in-memory; PgStore and RedisJobQueue for production
await sdk.start() // outbox relay, job runner, expiry sweep, reconciler

const alice = { id: "alice", roles: ["operator"] }
const { grant, credentials } = await sdk.grant({
  actor: alice,
  deviceId: "router-1",
  accessType: "ssh",
  permission: "read-only",
  callerAddress: "127.0.0.1", // the default source: 127.0.0.1/32
  ttlSeconds: 3600
})
const stateOnceSettled = async (wanted: string) => {
  for (let tries = 0; tries < 200 && (await sdk.get(alice, grant.id)).state !== wanted; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return (await sdk.get(alice, grant.id)).state
}
console.log(`grant ${grant.id} is ${await stateOnceSettled("active")}`)
if (credentials !== null) {
  // Show the user the command and the password once; never log the password.
  console.log(`${credentials.sshCommand} (password: ${revealPassword(credentials).length} characters, shown once)`)
}
await sdk.revoke(alice, grant.id)
console.log(`grant ${grant.id} is ${await stateOnceSettled("revoked")}`)
await sdk.dispose()
// quick-start:end
