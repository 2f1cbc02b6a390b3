/**
 * The in-memory `PullStore`: the embedded default of a single process and the store of
 * the core's and adapters' tests. It passes `PullStoreSuite` like the PostgreSQL store.
 *
 * Every operation validates its input first and then changes the state in one synchronous
 * block, so no other fiber sees half of a check-in. Values are kept as frozen JSON copies
 * (only the schema's fields), so callers never share the store's copy. State lives as long
 * as the layer; nothing survives the process.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { DeviceId } from "./Ids.ts"
import { PullStore, validateCheckIn, validateCommand, validateTokenHash } from "./PullStore.ts"
import type { CheckInResult, PendingCommand, RecordedCheckIn } from "./PullStore.ts"

interface DeviceState {
  tokenHash: string | undefined
  previousTokenHash: string | undefined
  applied: number
  issued: number
  readonly delivered: Set<number>
  readonly commands: Map<number, PendingCommand>
  last: RecordedCheckIn | undefined
}

const frozenCopy = <A>(value: A): A => Object.freeze(JSON.parse(JSON.stringify(value)) as A)

/**
 * Builds an empty in-memory pull store.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<PullStore["Service"]> = Effect.sync(() => {
  const devices = new Map<string, DeviceState>()
  const device = (deviceId: DeviceId): DeviceState => {
    let state = devices.get(deviceId)
    if (state === undefined) {
      state = {
        tokenHash: undefined,
        previousTokenHash: undefined,
        applied: 0,
        issued: 0,
        delivered: new Set(),
        commands: new Map(),
        last: undefined
      }
      devices.set(deviceId, state)
    }
    return state
  }
  const pendingOf = (state: DeviceState | undefined): ReadonlyArray<PendingCommand> =>
    state === undefined
      ? []
      : [...state.commands.values()].filter((entry) => entry.sequence > state.applied).sort((a, b) => a.sequence - b.sequence)

  return PullStore.of({
    setTokenHash: (deviceId, tokenHash, options = {}) =>
      validateTokenHash(tokenHash).pipe(
        Effect.flatMap((valid) =>
          Effect.sync(() => {
            const state = device(deviceId)
            state.previousTokenHash = options.keepPrevious === true ? state.tokenHash : undefined
            state.tokenHash = valid
          })
        )
      ),
    tokenHash: (deviceId) => Effect.sync(() => Option.fromUndefinedOr(devices.get(deviceId)?.tokenHash)),
    previousTokenHash: (deviceId) => Effect.sync(() => Option.fromUndefinedOr(devices.get(deviceId)?.previousTokenHash)),
    retirePreviousTokenHash: (deviceId) =>
      Effect.sync(() => {
        const state = devices.get(deviceId)
        if (state !== undefined) state.previousTokenHash = undefined
      }),
    enqueue: (deviceId, entry) =>
      validateCommand(entry).pipe(
        Effect.map((valid) => {
          const state = device(deviceId)
          if (valid.sequence <= state.applied || state.commands.has(valid.sequence)) return false
          state.issued = Math.max(state.issued, valid.sequence)
          state.commands.set(valid.sequence, frozenCopy(valid))
          return true
        })
      ),
    pending: (deviceId) => Effect.sync(() => pendingOf(devices.get(deviceId))),
    appliedSequence: (deviceId) => Effect.sync(() => devices.get(deviceId)?.applied ?? 0),
    recordCheckIn: (deviceId, checkIn) =>
      validateCheckIn(checkIn).pipe(
        Effect.map((valid): CheckInResult => {
          const state = device(deviceId)
          const count = state.last?.count ?? 0
          if (valid.sequence > state.issued) return { outcome: "Unissued", count, pending: pendingOf(state) }
          if (valid.sequence < state.applied) return { outcome: "Stale", count, pending: pendingOf(state) }
          state.applied = valid.sequence
          for (const sequence of [...state.commands.keys()]) {
            if (sequence <= state.applied) state.commands.delete(sequence)
          }
          for (const sequence of [...state.delivered]) if (sequence <= state.applied) state.delivered.delete(sequence)
          state.last = frozenCopy({ ...valid, count: count + 1 })
          return { outcome: "Recorded", count: count + 1, pending: pendingOf(state) }
        })
      ),
    claimDelivery: (deviceId, sequence) =>
      Effect.sync(() => {
        const state = devices.get(deviceId)
        if (state === undefined || sequence <= state.applied || !state.commands.has(sequence) || state.delivered.has(sequence)) return false
        state.delivered.add(sequence)
        return true
      }),
    lastCheckIn: (deviceId) => Effect.sync(() => Option.fromUndefinedOr(devices.get(deviceId)?.last))
  })
})

/**
 * The in-memory pull store as a layer (fresh state per build).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PullStore> = Layer.effect(PullStore, make)
