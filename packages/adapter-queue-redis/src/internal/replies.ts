/**
 * Decoding of script replies. A reply is checked with Schema before it is used; a reply of
 * an unexpected shape is a `QueueError` with reason `Corrupt`.
 *
 * @since 0.1.0
 */
import { JobQueue } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

const Flat = Schema.Array(Schema.Union([Schema.Number, Schema.String]))
const decodeFlat = Schema.decodeUnknownEffect(Flat)

const corrupt = (operation: string, detail: string) =>
  new JobQueue.QueueError({ reason: "Corrupt", message: `${operation}: unexpected reply (${detail})` })

const flat = (operation: string, reply: unknown) => decodeFlat(reply).pipe(Effect.mapError((error) => corrupt(operation, error.message)))

const int = (value: string | number | undefined): number => (typeof value === "number" ? value : Number(value))
const str = (value: string | number | undefined): string => (value === undefined ? "" : String(value))

/**
 * One entry handed out by `take`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TakenEntry {
  readonly entryId: string
  readonly jobId: string
  /** The stored Job JSON, or `null` when the payload is missing. */
  readonly payload: string | null
  readonly attempt: number
  /** Handed out before to a consumer that did not settle it. */
  readonly reclaimed: boolean
}

/**
 * What `take` found: nothing, work later, or entries under a fresh lease.
 *
 * @category models
 * @since 0.1.0
 */
export type TakeResult =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Later"; readonly wakeAt: number }
  | {
      readonly _tag: "Taken"
      readonly token: string
      readonly leaseUntil: number
      readonly entries: ReadonlyArray<TakenEntry>
    }

/**
 * Decodes the reply of the `take` script.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeTake = (reply: unknown): Effect.Effect<TakeResult, JobQueue.QueueError> =>
  Effect.flatMap(flat("take", reply), (values) => {
    const status = int(values[0])
    if (status === 0) return Effect.succeed<TakeResult>({ _tag: "Idle" })
    if (status === 1 && values.length === 2) return Effect.succeed<TakeResult>({ _tag: "Later", wakeAt: int(values[1]) })
    const count = int(values[3])
    if (status !== 2 || values.length !== 4 + count * 6) return Effect.fail(corrupt("take", `status ${status}`))
    const entries: Array<TakenEntry> = []
    for (let index = 0; index < count; index++) {
      const at = 4 + index * 6
      entries.push({
        entryId: str(values[at]),
        jobId: str(values[at + 1]),
        payload: int(values[at + 3]) === 1 ? str(values[at + 2]) : null,
        attempt: int(values[at + 4]),
        reclaimed: int(values[at + 5]) === 1
      })
    }
    return Effect.succeed<TakeResult>({
      _tag: "Taken",
      token: str(values[1]),
      leaseUntil: int(values[2]),
      entries
    })
  })

/**
 * What `settle` found: the lease was lost, no work is left, or work is due at `wakeAt`.
 *
 * @category models
 * @since 0.1.0
 */
export type SettleResult = { readonly _tag: "LeaseLost" } | { readonly _tag: "Idle" } | { readonly _tag: "Later"; readonly wakeAt: number }

/**
 * Decodes the reply of the `settle` script.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeSettle = (reply: unknown): Effect.Effect<SettleResult, JobQueue.QueueError> =>
  Effect.flatMap(flat("settle", reply), (values): Effect.Effect<SettleResult, JobQueue.QueueError> => {
    const status = int(values[0])
    if (status === -1) return Effect.succeed({ _tag: "LeaseLost" })
    if (status === 0) return Effect.succeed({ _tag: "Idle" })
    if (status === 1 && values.length === 2) return Effect.succeed({ _tag: "Later", wakeAt: int(values[1]) })
    return Effect.fail(corrupt("settle", `status ${status}`))
  })

/**
 * Decodes the reply of the `candidates` script into (target, version) pairs.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeCandidates = (
  reply: unknown
): Effect.Effect<ReadonlyArray<{ readonly target: string; readonly version: string }>, JobQueue.QueueError> =>
  Effect.map(flat("candidates", reply), (values) => {
    const out: Array<{ target: string; version: string }> = []
    for (let index = 0; index + 1 < values.length; index += 2) {
      out.push({ target: str(values[index]), version: str(values[index + 1]) })
    }
    return out
  })

/**
 * Decodes a plain integer reply.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeInt = (operation: string, reply: unknown): Effect.Effect<number, JobQueue.QueueError> =>
  Schema.decodeUnknownEffect(Schema.Number)(reply).pipe(Effect.mapError((error) => corrupt(operation, error.message)))
