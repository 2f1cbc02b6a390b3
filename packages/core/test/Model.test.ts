/**
 * The model-based test of the sagas (see src/suites/ModelTest.ts for the commands and the
 * invariants). `TA_MODEL_RUNS` sets the number of sequences (CI: 200; `pnpm test:soak`:
 * 20,000). A counterexample prints fast-check's seed and path; replay it with
 * `TA_MODEL_SEED=<seed> TA_MODEL_PATH=<path>`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as MemoryDeviceGateway from "../src/testing/MemoryDeviceGateway.ts"
import * as ModelTest from "../src/suites/ModelTest.ts"

const numRuns = Number(process.env.TA_MODEL_RUNS ?? 200)
const seed = process.env.TA_MODEL_SEED === undefined ? undefined : Number(process.env.TA_MODEL_SEED)
const path = process.env.TA_MODEL_PATH

describe("model: grant/revoke sagas leave nothing behind", () => {
  it(`${numRuns} random sequences keep every invariant`, { timeout: 30 * 60_000 }, async () => {
    await ModelTest.run({ numRuns, ...(seed !== undefined ? { seed } : {}), ...(path !== undefined ? { path } : {}) })
  })
})

describe("model: the tests can fail", () => {
  // fast-check stops at the first counterexample; 5,000 runs make missing one negligible
  // (the rarest, "no reconciler", is found after a few hundred runs on average).
  const expectCounterexample = async (label: string, options: ModelTest.ModelOptions) => {
    const report = await ModelTest.check({ numRuns: 5000, ...options })
    assert.isTrue(report.failed, `${label}: fast-check should find a counterexample`)
    console.log(
      `${label}: counterexample after ${report.numRuns} runs (seed ${report.seed}, path ${report.counterexamplePath}):\n  ${String(report.errorInstance).split("\n").slice(0, 3).join("\n  ")}`
    )
  }

  it("without fencing a paused worker acts after a revoke", { timeout: 10 * 60_000 }, async () => {
    await expectCounterexample("no fencing", { fencing: false })
  })

  it("a non-idempotent remove leaves a grant revoking forever (without the reconciler to mask it)", { timeout: 10 * 60_000 }, async () => {
    await expectCounterexample("non-idempotent remove", { idempotentRemove: false, reconciler: false })
  })

  it("a device gateway that opens forwards enabled (no forward fence) lets a late open forward traffic for a revoked grant", {
    timeout: 10 * 60_000
  }, async () => {
    await expectCounterexample("forward opened enabled", {
      device: async (devices) => {
        const { control, gateway } = await Effect.runPromise(MemoryDeviceGateway.make())
        return {
          devices,
          gateway: {
            ...gateway,
            openForward: (device, forward) =>
              gateway.openForward(device, forward).pipe(Effect.andThen(gateway.enableForward(device, forward.grantId)))
          },
          users: (deviceId) => control.users(deviceId),
          forwards: (deviceId) => control.forwards(deviceId),
          setOffline: (deviceId, offline) => control.setOffline(deviceId, offline)
        }
      }
    })
  })

  it("without the reconciler a create that landed late stays behind", { timeout: 10 * 60_000 }, async () => {
    await expectCounterexample("no reconciler", { reconciler: false })
  })
})
