/**
 * The core's model-based test of the sagas, with the device gateway replaced by the
 * RouterOS API push adapter talking to three simulators over the real API protocol
 * (fewer runs than the in-memory model: every step crosses TCP). The simulators' clocks
 * are frozen at the model's start, so device-side expiry entries never fire here: removal
 * comes from the sagas, which is what this run checks.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { DeviceGateway, Grant } from "@transient-access/core"
import { ModelTest } from "@transient-access/core/suites"
import * as ApiTransport from "../src/ApiTransport.ts"
import { startSimulator } from "../src/testing/index.ts"
import type { Simulator } from "../src/testing/Simulator.ts"
import { adminCredentials, adminPassword } from "./utils.ts"

const numRuns = Number(process.env.TA_ROUTEROS_MODEL_RUNS ?? 40)
let usersCreated = 0
let forwardsOpened = 0
const simulators = new Map<string, Simulator>()

beforeAll(async () => {
  for (const id of ["d1", "d2", "d3"]) {
    simulators.set(id, await startSimulator({ adminPassword, profile: "v7.18", sshPort: false, clock: "frozen", startAt: ModelTest.start }))
  }
})
afterAll(async () => {
  for (const sim of simulators.values()) await sim.stop()
})

describe("model: sagas over the RouterOS API adapter and simulator", () => {
  it(`${numRuns} random sequences keep every invariant`, { timeout: 15 * 60_000 }, async () => {
    await ModelTest.run({
      numRuns,
      maxCommands: 30,
      device: async (devices) => {
        const runtime = ManagedRuntime.make(ApiTransport.layer({ credentials: adminCredentials, callTimeoutMs: 3_000 }))
        const gateway = await runtime.runPromise(DeviceGateway.DeviceGateway.use(Effect.succeed))
        const simOf = (deviceId: string) => simulators.get(deviceId)!
        return {
          devices: devices.map((device) => ({
            ...device,
            tunnelAddress: simOf(device.id).host,
            ports: { ...device.ports, api: simOf(device.id).apiPort }
          })),
          gateway: {
            ...gateway,
            createUser: (device, spec) => gateway.createUser(device, spec).pipe(Effect.tap(() => Effect.sync(() => usersCreated++))),
            openForward: (device, forward) =>
              gateway.openForward(device, forward).pipe(Effect.tap(() => Effect.sync(() => forwardsOpened++)))
          },
          users: (deviceId) =>
            Effect.sync(() =>
              simOf(deviceId)
                .state.users.items.map((user) => ({
                  username: user.props.get("name") ?? "",
                  disabled: user.props.get("disabled") === "true"
                }))
                .filter((user) => user.username.startsWith("ta-"))
            ),
          // The raw `/ip/firewall/nat` table: a port-forward grant is usable only through an enabled rule.
          forwards: (deviceId) =>
            Effect.sync(() =>
              simOf(deviceId).state.nat.items.flatMap((rule) => {
                const grantId = Grant.parseArtifactTag(rule.props.get("comment") ?? "")
                return grantId === undefined ? [] : [{ grantId, disabled: rule.props.get("disabled") === "true" }]
              })
            ),
          setOffline: (deviceId, offline) => Effect.sync(() => simOf(deviceId).faults.setOffline(offline)),
          close: () => runtime.dispose()
        }
      }
    })
    // The runs did reach the routers (not just the store).
    assert.isAbove(usersCreated, 0)
    assert.isAbove(forwardsOpened, 0)
    console.log(`RouterOS model: ${numRuns} runs, ${usersCreated} users created and ${forwardsOpened} forwards opened on the simulators`)
  })
})
