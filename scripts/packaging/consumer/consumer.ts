/**
 * A consumer of the packed packages, as a stranger writes one: compiled by `tsc` as ESM and
 * as CommonJS (and type-checked under `bundler` and `node10`), then run. It runs a grant
 * through the in-memory adapters of `@transient-access/core/testing`, checks that errors
 * are `instanceof` the classes of the main entry (one copy of core across entries), and
 * builds a layer of every adapter (no I/O until a layer is built).
 */
import { createTransientAccess, DeviceGatewayError, InvalidRequest, revealPassword } from "@transient-access/core"
import { MemoryDeviceGateway, MemoryRegionalGateway } from "@transient-access/core/testing"
import { NetfilterGateway } from "@transient-access/adapter-iptables"
import { RedisJobQueue } from "@transient-access/adapter-queue-redis"
import { RelayGateway } from "@transient-access/adapter-relay"
import { ApiTransport, PullGateway } from "@transient-access/adapter-routeros"
import { PgClient, PgStore } from "@transient-access/adapter-store-postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const admin = { id: "alice", roles: ["admin"] }
const device = {
  id: "router-1",
  regionId: "eu-1",
  tunnelAddress: "10.8.0.2",
  ports: { ssh: 22, winbox: 8291, api: 8728 },
  mode: "push" as const
}
const region = { id: "eu-1", endpointHost: "eu-1.example.net", portRange: { from: 40000, to: 40099 }, tunnelAddress: "10.8.0.1" }

const check = (condition: boolean, message: string): void => {
  if (!condition) throw new Error(`consumer check failed: ${message}`)
}

const main = async (): Promise<void> => {
  const sdk = createTransientAccess({
    regional: MemoryRegionalGateway.layer,
    device: MemoryDeviceGateway.layer,
    devices: [device],
    regions: [region],
    settings: { relayIntervalMs: 10, sweepIntervalMs: 50 }
  })
  const waitFor = async (grantId: string, wanted: string): Promise<void> => {
    for (let attempt = 0; attempt < 400; attempt++) {
      if ((await sdk.get(admin, grantId)).state === wanted) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`grant ${grantId} never became ${wanted}`)
  }
  try {
    await sdk.start()
    const { grant, credentials } = await sdk.grant({
      actor: admin,
      deviceId: "router-1",
      accessType: "ssh",
      permission: "read-only",
      callerAddress: "203.0.113.7",
      ttlSeconds: 600
    })
    check(credentials !== null && revealPassword(credentials).length >= 20, "a strong password is issued")
    check(grant.source === "203.0.113.7/32", "the source defaults to the caller's address")
    await waitFor(grant.id, "active")
    await sdk.revoke(admin, grant.id)
    await waitFor(grant.id, "revoked")
    const refused: unknown = await sdk
      .grant({ actor: admin, deviceId: "router-1", accessType: "ssh", permission: "full", source: "0.0.0.0/0", ttlSeconds: 600 })
      .catch((error: unknown) => error)
    check(refused instanceof InvalidRequest, "a refused request is an InvalidRequest of the main entry")
  } finally {
    await sdk.dispose()
  }

  // An error made by /testing code is an instance of the main entry's class: one copy of core.
  const failure = await Effect.runPromise(
    Effect.gen(function* () {
      const { control, gateway } = yield* MemoryDeviceGateway.make()
      yield* control.setOffline(device.id as Parameters<typeof control.setOffline>[0], true)
      return yield* Effect.flip(gateway.removeUser(device as Parameters<typeof gateway.removeUser>[0], "ta-nobody"))
    })
  )
  check(failure instanceof DeviceGatewayError, "a /testing gateway's error is a DeviceGatewayError of the main entry")

  // Every adapter's layer is a value; building one is what connects.
  const layers: ReadonlyArray<unknown> = [
    RelayGateway.layer(),
    NetfilterGateway.layer({ backend: "nftables" }),
    RedisJobQueue.layer({ url: Redacted.make("redis://127.0.0.1:1") }),
    PgStore.layer.pipe(Layer.provide(PgClient.layer({ url: Redacted.make("postgres://127.0.0.1:1/none") }))),
    ApiTransport.layer({ credentials: () => ({ user: "transient-access", password: Redacted.make("secret") }) }),
    PullGateway.layer({})
  ]
  check(
    layers.every((layer) => Layer.isLayer(layer)),
    "every adapter layer is a Layer"
  )
  console.log(JSON.stringify({ ok: true, grant: "active then revoked", instanceofAcrossEntries: true, layers: layers.length }))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
