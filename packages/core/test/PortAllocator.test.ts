import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { PortsExhausted } from "../src/Errors.ts"
import { GrantStore } from "../src/GrantStore.ts"
import * as MemoryGrantStore from "../src/MemoryGrantStore.ts"
import { PortAllocator, PortPool } from "../src/PortAllocator.ts"
import * as PortAllocatorModule from "../src/PortAllocator.ts"
import { makeTestGrant, testRegion } from "../src/testing/fixtures.ts"

describe("PortPool", () => {
  it("holds exactly the free ports under any sequence of takes and adds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.integer({ min: 0, max: 199 }), { maxLength: 50 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 300 }),
        (size, held, operations) => {
          const from = 30000
          const pool = PortPool.of(
            from,
            from + size - 1,
            held.map((offset) => from + offset)
          )
          const model = new Set<number>()
          for (let port = from; port < from + size; port++) if (!held.includes(port - from)) model.add(port)
          for (const [take, value] of operations) {
            if (take && pool.size > 0) {
              const port = pool.takeAt(value % pool.size)
              assert.isTrue(model.delete(port))
            } else if (!take) {
              const port = from + (value % size)
              pool.add(port)
              model.add(port)
            }
            assert.strictEqual(pool.size, model.size)
          }
          for (const port of model) assert.isTrue(pool.has(port))
        }
      )
    )
  })
})

describe("PortAllocator", () => {
  const TestLayer = PortAllocatorModule.layer.pipe(Layer.provideMerge(MemoryGrantStore.layerEphemeral))

  it.effect("finds the last free port of a 99 % full range in one attempt per free candidate", () =>
    Effect.gen(function* () {
      const store = yield* GrantStore
      const allocator = yield* PortAllocator
      const region = testRegion({ portRange: { from: 40000, to: 40999 } })
      const free = new Set([40017, 40500, 40777, 40999, 40001, 40002, 40003, 40004, 40005, 40006])
      for (let port = 40000; port <= 40999; port++) {
        if (free.has(port)) continue
        const grant = makeTestGrant({ regionId: region.id, endpoint: { host: "h", port } })
        yield* store.insert({ grant, deviceSecret: Option.none(), jobs: () => [], idempotency: Option.none() })
      }
      let attempts = 0
      const got = new Set<number>()
      for (let index = 0; index < free.size; index++) {
        const port = yield* allocator.allocate(region, (candidate) => {
          attempts++
          return store
            .insert({
              grant: makeTestGrant({ regionId: region.id, endpoint: { host: "h", port: candidate } }),
              deviceSecret: Option.none(),
              jobs: () => [],
              idempotency: Option.none()
            })
            .pipe(Effect.as(candidate))
        })
        got.add(port)
      }
      assert.deepStrictEqual([...got].sort(), [...free].sort())
      assert.strictEqual(attempts, free.size, "no candidate was a held port")
      const error = yield* Effect.flip(allocator.allocate(region, (candidate) => Effect.succeed(candidate)))
      assert.instanceOf(error, PortsExhausted)
    }).pipe(Effect.provide(TestLayer))
  )
})
