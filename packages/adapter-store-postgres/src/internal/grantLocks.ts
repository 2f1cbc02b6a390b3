/**
 * In-process grant locks for single-connection backends (PGlite).
 *
 * PGlite has one connection, so a transaction that held a row lock while `withLiveGrant`'s
 * callback runs would block every other query of the process. With `locking: "process"` the
 * store holds a per-grant semaphore instead while the callback runs (PGlite is one process
 * only, so an in-process lock excludes every writer): `update` waits for it, `claimExpired`
 * skips grants whose lock is held (as `FOR UPDATE SKIP LOCKED` would), and store calls made
 * inside the callback that touch the same grant re-enter the lock instead of waiting for
 * themselves.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Semaphore from "effect/Semaphore"

const HeldByFiber = Context.Reference<ReadonlySet<string>>("@transient-access/adapter-store-postgres/HeldGrantLocks", {
  defaultValue: () => new Set()
})

/** Per-grant locks of one store instance. */
export interface GrantLocks {
  /** Runs `effect` holding the grant's lock (re-entrant for the fiber that holds it). */
  readonly withLock: <A, E, R>(grantId: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Ids of grants whose lock is held right now. */
  readonly held: () => ReadonlyArray<string>
}

/** Creates the locks of one store instance. */
export const makeGrantLocks = (): GrantLocks => {
  const locks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  const held = new Set<string>()
  return {
    held: () => [...held],
    withLock: (grantId, effect) =>
      Effect.gen(function* () {
        const mine = yield* HeldByFiber
        if (mine.has(grantId)) return yield* effect
        let entry = locks.get(grantId)
        if (entry === undefined) {
          entry = { semaphore: Semaphore.makeUnsafe(1), users: 0 }
          locks.set(grantId, entry)
        }
        const lock = entry
        lock.users += 1
        return yield* lock.semaphore
          .withPermit(
            Effect.acquireUseRelease(
              Effect.sync(() => held.add(grantId)),
              () => Effect.provideService(effect, HeldByFiber, new Set([...mine, grantId])),
              () => Effect.sync(() => held.delete(grantId))
            )
          )
          .pipe(
            Effect.ensuring(
              Effect.sync(() => {
                lock.users -= 1
                if (lock.users === 0) locks.delete(grantId)
              })
            )
          )
      })
  }
}
