/**
 * Port allocation: a random free port of the region's range, in expected O(1) even when
 * the range is 99 % taken.
 *
 * Each process keeps, per region, the set of ports it believes free as an array with an
 * index (swap-remove), loaded from the store's `heldPorts`. A candidate is drawn uniformly
 * from that array and removed from it; the **store** is the arbiter — inserting a grant
 * on a held port fails with `PortTaken` and the allocator draws again. The set is reloaded
 * from the store when it runs empty or grows stale, so ports freed by other processes come
 * back; only when the reloaded set is empty does allocation fail with `PortsExhausted`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Semaphore from "effect/Semaphore"
import * as Clock from "effect/Clock"
import { EngineConfig } from "./EngineConfig.ts"
import { PortsExhausted } from "./Errors.ts"
import { GrantStore, PortTaken } from "./GrantStore.ts"
import type { StoreError } from "./GrantStore.ts"
import type { Region } from "./Topology.ts"

/**
 * A set of free ports supporting uniform random removal in O(1).
 *
 * @category models
 * @since 0.1.0
 */
export class PortPool {
  private readonly ports: Array<number> = []
  private readonly positions = new Map<number, number>()

  /** A pool of `from..to` minus `held`. */
  static of(from: number, to: number, held: Iterable<number>): PortPool {
    const pool = new PortPool()
    const heldSet = new Set(held)
    for (let port = from; port <= to; port++) if (!heldSet.has(port)) pool.add(port)
    return pool
  }

  get size(): number {
    return this.ports.length
  }

  has(port: number): boolean {
    return this.positions.has(port)
  }

  add(port: number): void {
    if (this.positions.has(port)) return
    this.positions.set(port, this.ports.length)
    this.ports.push(port)
  }

  remove(port: number): void {
    const position = this.positions.get(port)
    if (position === undefined) return
    const last = this.ports.pop() as number
    this.positions.delete(port)
    if (last !== port) {
      this.ports[position] = last
      this.positions.set(last, position)
    }
  }

  /** Removes and returns the port at `index` (0 ≤ index < size). */
  takeAt(index: number): number {
    const port = this.ports[index] as number
    this.remove(port)
    return port
  }
}

/**
 * The allocator service.
 *
 * @category services
 * @since 0.1.0
 */
export class PortAllocator extends Context.Service<
  PortAllocator,
  {
    /**
     * Draws free ports of `region` and calls `attempt` with each until it does not fail
     * with `PortTaken`.
     */
    readonly allocate: <A, E, R>(
      region: Region,
      attempt: (port: number) => Effect.Effect<A, E | PortTaken, R>
    ) => Effect.Effect<A, Exclude<E, PortTaken> | PortsExhausted | StoreError, R>
  }
>()("@transient-access/core/PortAllocator") {}

/** A pool older than this is reloaded before use. */
const staleAfterMs = 30_000

/**
 * Builds the allocator over the `GrantStore`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<PortAllocator["Service"], never, GrantStore> = Effect.gen(function* () {
  const store = yield* GrantStore
  const pools = new Map<string, { pool: PortPool; loadedAt: number }>()
  const lock = yield* Semaphore.make(1)

  const load = (region: Region) =>
    Effect.gen(function* () {
      const settings = yield* EngineConfig
      const held = yield* store.heldPorts(region.id, settings.portCooldownMs)
      const entry = { pool: PortPool.of(region.portRange.from, region.portRange.to, held), loadedAt: yield* Clock.currentTimeMillis }
      pools.set(region.id, entry)
      return entry.pool
    }).pipe(Semaphore.withPermit(lock))

  const current = (region: Region) =>
    Effect.gen(function* () {
      const entry = pools.get(region.id)
      const now = yield* Clock.currentTimeMillis
      if (entry === undefined || entry.pool.size === 0 || now - entry.loadedAt > staleAfterMs) return yield* load(region)
      return entry.pool
    })

  const allocate = <A, E, R>(
    region: Region,
    attempt: (port: number) => Effect.Effect<A, E | PortTaken, R>
  ): Effect.Effect<A, Exclude<E, PortTaken> | PortsExhausted | StoreError, R> =>
    Effect.gen(function* () {
      let reloaded = false
      let pool = yield* current(region)
      while (true) {
        if (pool.size === 0) {
          if (reloaded) {
            return yield* new PortsExhausted({
              regionId: region.id,
              rangeSize: region.portRange.to - region.portRange.from + 1
            })
          }
          pool = yield* load(region)
          reloaded = true
          continue
        }
        const port = pool.takeAt(yield* Random.nextIntBetween(0, pool.size, { halfOpen: true }))
        const result = yield* Effect.result(attempt(port))
        if (result._tag === "Success") return result.success
        const error = result.failure
        if (error instanceof PortTaken) continue
        // The port was not used: give it back.
        pool.add(port)
        return yield* Effect.fail(error as Exclude<E, PortTaken>)
      }
    })

  return PortAllocator.of({ allocate })
})

/**
 * The allocator layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PortAllocator, never, GrantStore> = Layer.effect(PortAllocator, make)
