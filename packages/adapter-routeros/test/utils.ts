/**
 * Test helpers: a simulator per test and a `Device` pointing at it.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Ids, Topology } from "@transient-access/core"
import { type SimulatorOptions, startSimulator } from "../src/testing/index.ts"
import type { Simulator } from "../src/testing/Simulator.ts"

export const adminPassword = "Sim-Admin-Pw-1"

/** A simulator as a scoped resource (stopped when the test's scope closes). */
export const simulator = (options: SimulatorOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startSimulator({ adminPassword, ...options })),
    (sim) => Effect.promise(() => sim.stop())
  )

/** The device record of a simulator (tunnel address = loopback). */
export const deviceOf = (sim: Simulator, mode: Topology.DeliveryMode = "push"): Topology.Device => ({
  id: `sim-${Math.random().toString(36).slice(2, 10)}` as Ids.DeviceId,
  regionId: "region-test" as Ids.RegionId,
  tunnelAddress: sim.host,
  ports: { ssh: sim.sshPort ?? 22, winbox: 8291, api: sim.apiPort },
  mode
})

export const adminCredentials = () => ({ user: "admin", password: Redacted.make(adminPassword) })

/** Unique ids for one test. */
export const uniqueGrant = (): Ids.GrantId => `ga_t${Math.random().toString(36).slice(2, 12)}` as Ids.GrantId
export const uniqueUser = (): string => `ta-${Math.random().toString(36).slice(2, 12)}`
