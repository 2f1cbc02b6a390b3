/**
 * The in-memory job queue's implementation, shared by the embedded default
 * (`MemoryJobQueue.layer`, the queue alone) and the test double with its fault controls
 * (`MemoryJobQueueControl.layer` in `@transient-access/core/testing`).
 *
 * It keeps real state and enforces the same rules as the Redis adapter:
 * - one FIFO per target; a job waiting for its `retry` delay keeps its place at the head,
 *   so jobs of a target are never delivered out of publication order (unless `reorder` is on);
 * - at most one outstanding delivery per target: a lease with a fencing token that expires
 *   after `leaseMs`; a settle (`ack`, `retry`, `deadLetter`) whose lease expired or was
 *   already settled fails with `QueueError` `LeaseLost` and changes nothing;
 * - an expired lease makes the job deliverable again with `attempt + 1` (the consumer died);
 * - publishing a job id that is still queued (or leased) is a no-op;
 * - payloads are stored as JSON (`Job.JobJson`) and decoded on delivery: a payload that does
 *   not decode is never delivered and goes to the dead letters with `job: null`.
 *
 * Time comes from Effect's `Clock`, so `TestClock` controls leases, retry delays and
 * `poll`'s `wait` (short `Clock` sleeps). State lives as long as the layer.
 *
 * `MemoryJobQueueControl` (provided alongside `JobQueue` by the testing layer) injects the faults
 * a real queue may show — duplicates, losses, delays, reordering, corrupt payloads — and
 * exposes what is still pending.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { JobJson } from "../Job.ts"
import type { Job } from "../Job.ts"
import { JobQueue, QueueError } from "../JobQueue.ts"
import type { DeadLetter, Delivery } from "../JobQueue.ts"

/**
 * Options of the in-memory queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How long a delivery holds its target's lease before the job is redelivered (default 30 s). */
  readonly leaseMs?: number
  /** How often `poll` looks again while it waits (default 5 ms of `Clock` time). */
  readonly pollIntervalMs?: number
}

/**
 * Where a job the queue still owes stands:
 * - `ready`: deliverable now (if it is at the head of its target);
 * - `leased`: delivered, waiting for its settle or lease expiry;
 * - `waiting`: retried, not before `availableAt`;
 * - `inTransit`: published with `delayNext`, arrives in the queue at `availableAt`.
 *
 * @category models
 * @since 0.1.0
 */
export type PendingStatus = "ready" | "leased" | "waiting" | "inTransit"

/**
 * A job the queue still owes a delivery for.
 *
 * @category models
 * @since 0.1.0
 */
export interface PendingJob {
  /** The decoded job, or `null` if its payload was corrupted. */
  readonly job: Job | null
  readonly jobId: string
  readonly target: string
  /** Deliveries so far. */
  readonly deliveries: number
  readonly status: PendingStatus
  readonly availableAt: number
}

/**
 * Fault injection and inspection for the in-memory queue.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryJobQueueControl extends Context.Service<
  MemoryJobQueueControl,
  {
    /** The next `count` published jobs are enqueued twice (the copy bypasses the dedupe). */
    readonly duplicateNext: (count: number) => Effect.Effect<void>
    /** The next `count` published jobs are lost entirely (the outbox must republish them). */
    readonly dropNext: (count: number) => Effect.Effect<void>
    /** The next `count` published jobs reach the queue only after `delay` (later jobs overtake them). */
    readonly delayNext: (count: number, delay: Duration.Input) => Effect.Effect<void>
    /**
     * With a chooser, `poll` delivers a random ready job of each target instead of its head:
     * `chooser(n)` returns an index in `[0, n)` (pass a seeded one for reproducible runs).
     * `null` restores FIFO delivery.
     */
    readonly reorder: (chooser: ((max: number) => number) | null) => Effect.Effect<void>
    /** Replaces the stored payload of every queued copy of `jobId` with bytes that do not decode. */
    readonly corrupt: (jobId: string) => Effect.Effect<void>
    /** Clears every pending fault (duplicate, drop, delay, reorder). */
    readonly clearFaults: Effect.Effect<void>
    /** Number of jobs still owed a delivery (ready, leased, waiting or in transit). */
    readonly size: Effect.Effect<number>
    /** The jobs still owed a delivery, per target in queue order, then those in transit. */
    readonly pending: Effect.Effect<ReadonlyArray<PendingJob>>
  }
>()("@transient-access/core/MemoryJobQueueControl") {}

interface Entry {
  readonly jobId: string
  readonly target: string
  payload: string
  deliveries: number
  availableAt: number
}

interface Lease {
  readonly token: number
  readonly entry: Entry
  readonly consumer: string
  readonly expiresAt: number
}

interface Transit {
  readonly entry: Entry
  readonly arriveAt: number
  /** Whether this copy is subject to the dedupe (false for an injected duplicate). */
  readonly dedupe: boolean
}

const corruptPayload = "\u0000corrupt{"

const decodePayload = Schema.decodeUnknownExit(JobJson)
const encodeJob = Schema.encodeEffect(JobJson)

const toMillis = (delay: Duration.Input): number | undefined =>
  Option.match(Duration.fromInput(delay), {
    onNone: () => undefined,
    onSome: (duration) => {
      const millis = Duration.toMillis(duration)
      return Number.isFinite(millis) ? Math.max(0, millis) : undefined
    }
  })

const leaseLost = (target: string) =>
  new QueueError({
    reason: "LeaseLost",
    message: `the lease on ${target} expired or was already settled; the job may be delivered again`
  })

/**
 * Builds an in-memory queue and its control. State lives as long as the returned values.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<{
  readonly queue: JobQueue["Service"]
  readonly control: MemoryJobQueueControl["Service"]
}> =>
  Effect.sync(() => {
    const leaseMs = options.leaseMs ?? 30_000
    const pollIntervalMs = options.pollIntervalMs ?? 5
    const queues = new Map<string, Array<Entry>>()
    const leases = new Map<string, Lease>()
    const queuedCopies = new Map<string, number>()
    let transit: Array<Transit> = []
    const deadLetters: Array<DeadLetter> = []
    let nextToken = 0
    let cursor = 0
    const faults = {
      duplicate: 0,
      drop: 0,
      delayCount: 0,
      delayMs: 0,
      chooser: null as ((max: number) => number) | null
    }

    const arrive = (entry: Entry, dedupe: boolean): void => {
      if (dedupe && (queuedCopies.get(entry.jobId) ?? 0) > 0) return
      const queue = queues.get(entry.target)
      if (queue === undefined) queues.set(entry.target, [entry])
      else queue.push(entry)
      queuedCopies.set(entry.jobId, (queuedCopies.get(entry.jobId) ?? 0) + 1)
    }

    const removeEntry = (entry: Entry): void => {
      const queue = queues.get(entry.target)
      if (queue === undefined) return
      const index = queue.indexOf(entry)
      if (index === -1) return
      queue.splice(index, 1)
      if (queue.length === 0) queues.delete(entry.target)
      const copies = (queuedCopies.get(entry.jobId) ?? 1) - 1
      if (copies <= 0) queuedCopies.delete(entry.jobId)
      else queuedCopies.set(entry.jobId, copies)
    }

    /** Delivers what arrived from transit and drops expired leases. */
    const housekeep = (now: number): void => {
      if (transit.length > 0) {
        const arrived = transit.filter((item) => item.arriveAt <= now).sort((a, b) => a.arriveAt - b.arriveAt)
        if (arrived.length > 0) {
          transit = transit.filter((item) => item.arriveAt > now)
          for (const item of arrived) arrive(item.entry, item.dedupe)
        }
      }
      for (const [target, lease] of leases) {
        if (lease.expiresAt <= now) leases.delete(target)
      }
    }

    const decodeEntry = (entry: Entry): Job | null => {
      const exit = decodePayload(entry.payload)
      return Exit.isSuccess(exit) ? exit.value : null
    }

    const settle = (target: string, token: number, apply: (lease: Lease, now: number) => void): Effect.Effect<void, QueueError> =>
      Clock.clockWith((clock) =>
        Effect.suspend(() => {
          const now = clock.currentTimeMillisUnsafe()
          housekeep(now)
          const lease = leases.get(target)
          if (lease === undefined || lease.token !== token) return Effect.fail(leaseLost(target))
          leases.delete(target)
          apply(lease, now)
          return Effect.void
        })
      )

    const makeDelivery = (lease: Lease, job: Job): Delivery => ({
      job,
      attempt: lease.entry.deliveries,
      ack: settle(lease.entry.target, lease.token, ({ entry }) => removeEntry(entry)),
      retry: (delay) => {
        const delayMs = toMillis(delay)
        if (delayMs === undefined) {
          return Effect.fail(new QueueError({ reason: "Misconfigured", message: "retry delay must be a finite duration" }))
        }
        return settle(lease.entry.target, lease.token, ({ entry }, now) => {
          entry.availableAt = now + delayMs
        })
      },
      deadLetter: (reason) =>
        settle(lease.entry.target, lease.token, ({ entry }) => {
          removeEntry(entry)
          deadLetters.push({ job, reason, attempts: entry.deliveries })
        })
    })

    /** Picks the entry to deliver for a target, or undefined when the target is blocked. */
    const pick = (queue: ReadonlyArray<Entry>, now: number): Entry | undefined => {
      if (faults.chooser === null) {
        const head = queue[0]
        return head !== undefined && head.availableAt <= now ? head : undefined
      }
      const ready = queue.filter((entry) => entry.availableAt <= now)
      if (ready.length === 0) return undefined
      const index = Math.floor(Math.abs(faults.chooser(ready.length))) % ready.length
      return ready[index]
    }

    const take = (consumer: string, max: number, now: number): Array<Delivery> => {
      housekeep(now)
      const deliveries: Array<Delivery> = []
      const targets = [...queues.keys()]
      if (targets.length === 0) return deliveries
      const start = cursor % targets.length
      cursor = start + 1
      for (let offset = 0; offset < targets.length && deliveries.length < max; offset++) {
        const target = targets[(start + offset) % targets.length] as string
        if (leases.has(target)) continue
        for (;;) {
          const queue = queues.get(target)
          if (queue === undefined) break
          const entry = pick(queue, now)
          if (entry === undefined) break
          entry.deliveries += 1
          const job = decodeEntry(entry)
          if (job === null) {
            removeEntry(entry)
            deadLetters.push({
              job: null,
              reason: `Corrupt: payload of job ${entry.jobId} on ${target} does not decode`,
              attempts: entry.deliveries
            })
            continue
          }
          const lease: Lease = { token: ++nextToken, entry, consumer, expiresAt: now + leaseMs }
          leases.set(target, lease)
          deliveries.push(makeDelivery(lease, job))
          break
        }
      }
      return deliveries
    }

    const enqueue = (job: Job, payload: string, now: number): void => {
      if (faults.drop > 0) {
        faults.drop -= 1
        return
      }
      const copies = faults.duplicate > 0 ? 2 : 1
      if (faults.duplicate > 0) faults.duplicate -= 1
      const delayed = faults.delayCount > 0
      if (delayed) faults.delayCount -= 1
      for (let copy = 0; copy < copies; copy++) {
        const entry: Entry = { jobId: job.id, target: job.target, payload, deliveries: 0, availableAt: now }
        if (delayed) transit.push({ entry, arriveAt: now + faults.delayMs, dedupe: copy === 0 })
        else arrive(entry, copy === 0)
      }
    }

    const statusOf = (entry: Entry, now: number): PendingStatus => {
      const lease = leases.get(entry.target)
      if (lease !== undefined && lease.entry === entry) return "leased"
      return entry.availableAt > now ? "waiting" : "ready"
    }

    const withNow = <A>(f: (now: number) => A): Effect.Effect<A> =>
      Clock.clockWith((clock) => Effect.sync(() => f(clock.currentTimeMillisUnsafe())))

    const publish = Effect.fn("MemoryJobQueue.publish")(function* (jobs: ReadonlyArray<Job>) {
      const payloads: Array<string> = []
      for (const job of jobs) {
        payloads.push(
          yield* encodeJob(job).pipe(
            Effect.mapError((cause) => new QueueError({ reason: "Corrupt", message: `job does not encode: ${cause.message}`, cause }))
          )
        )
      }
      yield* withNow((now) => {
        housekeep(now)
        for (const [index, job] of jobs.entries()) enqueue(job, payloads[index] as string, now)
      })
    })

    const poll = Effect.fn("MemoryJobQueue.poll")(function* (request: {
      readonly consumer: string
      readonly max: number
      readonly wait?: Duration.Input
    }) {
      if (!(request.max >= 1)) return []
      const max = Math.floor(request.max)
      const waitMs = request.wait === undefined ? 0 : (toMillis(request.wait) ?? 0)
      const deadline = (yield* Clock.currentTimeMillis) + waitMs
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        const deliveries = take(request.consumer, max, now)
        if (deliveries.length > 0 || now >= deadline) return deliveries
        yield* Effect.sleep(Duration.millis(Math.min(pollIntervalMs, deadline - now)))
      }
    })

    const queue = JobQueue.of({
      publish,
      poll,
      deadLetters: Effect.sync(() => [...deadLetters])
    })

    const pendingAt = (now: number): ReadonlyArray<PendingJob> => {
      housekeep(now)
      const result: Array<PendingJob> = []
      for (const entries of queues.values()) {
        for (const entry of entries) {
          result.push({
            job: decodeEntry(entry),
            jobId: entry.jobId,
            target: entry.target,
            deliveries: entry.deliveries,
            status: statusOf(entry, now),
            availableAt: entry.availableAt
          })
        }
      }
      for (const item of transit) {
        result.push({
          job: decodeEntry(item.entry),
          jobId: item.entry.jobId,
          target: item.entry.target,
          deliveries: 0,
          status: "inTransit",
          availableAt: item.arriveAt
        })
      }
      return result
    }

    const count = (value: number): number => Math.max(0, Math.floor(value))

    const control = MemoryJobQueueControl.of({
      duplicateNext: (n) =>
        Effect.sync(() => {
          faults.duplicate = count(n)
        }),
      dropNext: (n) =>
        Effect.sync(() => {
          faults.drop = count(n)
        }),
      delayNext: (n, delay) =>
        Effect.sync(() => {
          faults.delayCount = count(n)
          faults.delayMs = toMillis(delay) ?? 0
        }),
      reorder: (chooser) =>
        Effect.sync(() => {
          faults.chooser = chooser
        }),
      corrupt: (jobId) =>
        Effect.sync(() => {
          for (const entries of queues.values()) {
            for (const entry of entries) if (entry.jobId === jobId) entry.payload = corruptPayload
          }
          for (const item of transit) if (item.entry.jobId === jobId) item.entry.payload = corruptPayload
        }),
      clearFaults: Effect.sync(() => {
        faults.duplicate = 0
        faults.drop = 0
        faults.delayCount = 0
        faults.chooser = null
      }),
      size: withNow((now) => pendingAt(now).length),
      pending: withNow(pendingAt)
    })

    return { queue, control }
  })
