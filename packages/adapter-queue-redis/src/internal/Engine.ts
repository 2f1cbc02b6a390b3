/**
 * The queue engine: the per-target operations (publish, take, settle), the ready set, the
 * dead letters and the events, behind the `JobQueue` implementation.
 *
 * @since 0.1.0
 */
import { AuditLog, Job, JobQueue } from "@transient-access/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Cluster } from "ioredis"
import type { QueueEvent } from "../QueueEvent.ts"
import { globalKeys, targetKeyList, targetKeys } from "./keys.ts"
import type { Settings } from "../Settings.ts"
import { call, runScript, script } from "./client.ts"
import type { RedisClient } from "./client.ts"
import * as Lua from "./lua.ts"
import { decodeCandidates, decodeSettle, decodeTake } from "./replies.ts"
import type { SettleResult, TakenEntry, TakeResult } from "./replies.ts"

const scripts = {
  publish: script(Lua.publish),
  take: script(Lua.take),
  settle: script(Lua.settle),
  nudge: script(Lua.nudge),
  candidates: script(Lua.candidates),
  resolve: script(Lua.resolve)
}

const decodeJobJson = Schema.decodeUnknownExit(Job.JobJson)
const encodeJobJson = Schema.encodeSync(Job.JobJson)

/**
 * How one delivered entry is settled.
 *
 * @category models
 * @since 0.1.0
 */
export type SettleItem =
  | { readonly mode: "ack"; readonly entry: TakenEntry }
  | { readonly mode: "retry"; readonly entry: TakenEntry; readonly delayMs: number }
  | { readonly mode: "dead"; readonly entry: TakenEntry; readonly reason: string }

/**
 * A taken entry after decoding: a job to deliver, or a reason to dead-letter it.
 *
 * @category models
 * @since 0.1.0
 */
export type Checked =
  | { readonly _tag: "Deliver"; readonly entry: TakenEntry; readonly job: Job.Job }
  | { readonly _tag: "Reject"; readonly entry: TakenEntry; readonly reason: string }

/**
 * The engine of one queue instance.
 *
 * @category models
 * @since 0.1.0
 */
export type Engine = Effect.Success<ReturnType<typeof make>>

const leaseLost = (target: string) =>
  new JobQueue.QueueError({
    reason: "LeaseLost",
    message: `the lease on ${target} expired and the delivery was handed out again (or Redis lost it)`
  })

/**
 * Builds the engine on a connected client.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (client: RedisClient, settings: Settings) {
  const audit = yield* Effect.serviceOption(AuditLog.AuditLog)
  const global = globalKeys(settings.prefix)
  const readyKeys = [global.ready, global.readyVersion, global.readySeq]
  // On a standalone server the target scripts also update the ready set (atomically); on a
  // Cluster the global keys live in another slot, so that is a second step.
  const inline = !(client instanceof Cluster)
  const keysOf = (target: string) => [...targetKeyList(targetKeys(settings.prefix, target)), ...(inline ? readyKeys : [])]
  let events: ReadonlyArray<QueueEvent> = []
  const waiters = new Set<() => void>()

  /** Wakes the `poll`s of this process that are waiting for work. */
  const wakeLocal = () => {
    for (const waiter of [...waiters]) waiter()
  }

  /** Sleeps up to `ms` of real time, or until this process publishes or settles work. */
  const sleepOrWake = (ms: number) =>
    Effect.callback<void>((resume) => {
      const done = () => {
        clearTimeout(timer)
        waiters.delete(done)
        resume(Effect.void)
      }
      const timer = setTimeout(done, ms)
      waiters.add(done)
      return Effect.sync(() => {
        clearTimeout(timer)
        waiters.delete(done)
      })
    })

  const emit = Effect.fnUntraced(function* (event: QueueEvent) {
    const keep = settings.eventBufferSize
    events = events.length >= keep ? [...events.slice(events.length - keep + 1), event] : [...events, event]
    if (event._tag === "Reclaimed") {
      yield* Effect.logWarning("queue: delivery reclaimed from a consumer that did not settle it").pipe(
        Effect.annotateLogs({ target: event.target, jobId: event.jobId, attempt: event.attempt })
      )
      return
    }
    if (event._tag === "ConfigWarning") {
      yield* Effect.logWarning(`queue: ${event.message}`)
    } else {
      yield* Effect.logWarning("queue: job dead-lettered").pipe(
        Effect.annotateLogs({ target: event.target, jobId: event.jobId, reason: event.reason })
      )
    }
    if (Option.isSome(audit)) {
      yield* audit.value.record({
        at: event.at,
        actor: "system",
        action: event._tag === "ConfigWarning" ? "queue.config-warning" : "queue.dead-letter",
        grantId: event._tag === "DeadLettered" ? event.grantId : null,
        details:
          event._tag === "ConfigWarning"
            ? { node: event.node, setting: event.setting, value: event.value }
            : { target: event.target, jobId: event.jobId, reason: event.reason, attempts: event.attempts }
      })
    }
  })

  /** Marks targets as having work at `wakeAt` (0 = now). */
  const nudge = (marks: ReadonlyArray<readonly [string, number]>) =>
    marks.length === 0 || inline ? Effect.void : runScript(client, "nudge", scripts.nudge, readyKeys, marks.flat()).pipe(Effect.asVoid)

  const publish = Effect.fnUntraced(function* (jobs: ReadonlyArray<Job.Job>) {
    const byTarget = new Map<string, Array<string | number>>()
    for (const job of jobs) {
      const args = byTarget.get(job.target) ?? [job.target, settings.group]
      args.push(job.id, encodeJobJson(job))
      byTarget.set(job.target, args)
    }
    yield* Effect.forEach(byTarget, ([target, args]) => runScript(client, "publish", scripts.publish, keysOf(target), args), {
      concurrency: "unbounded",
      discard: true
    })
    yield* nudge([...byTarget.keys()].map((target) => [target, 0] as const))
    wakeLocal()
  })

  const take = (target: string, consumer: string, count: number): Effect.Effect<TakeResult, JobQueue.QueueError> =>
    runScript(client, "take", scripts.take, keysOf(target), [
      target,
      settings.group,
      consumer,
      settings.leaseMs,
      settings.claimIdleMs,
      count
    ]).pipe(Effect.flatMap(decodeTake))

  /** Decodes a taken entry; a payload that fails decoding, or too many attempts, is rejected. */
  const check = (target: string, entry: TakenEntry): Checked => {
    if (entry.payload === null) return { _tag: "Reject", entry, reason: "corrupt: payload missing" }
    const decoded = decodeJobJson(entry.payload)
    if (decoded._tag === "Failure") {
      return { _tag: "Reject", entry, reason: "corrupt: payload failed schema decoding" }
    }
    const job = decoded.value
    if (job.id !== entry.jobId || job.target !== target) {
      return { _tag: "Reject", entry, reason: "corrupt: payload does not match its entry" }
    }
    if (entry.attempt > settings.maxAttempts) {
      return { _tag: "Reject", entry, reason: `attempts exceeded (${settings.maxAttempts})` }
    }
    return { _tag: "Deliver", entry, job }
  }

  const grantIdOf = (payload: string | null): string | null => {
    if (payload === null) return null
    const decoded = decodeJobJson(payload)
    return decoded._tag === "Success" ? decoded.value.grantId : null
  }

  /** Settles entries under a lease; dead letters are indexed first so none is ever unlisted. */
  const settle = Effect.fnUntraced(function* (target: string, token: string, items: ReadonlyArray<SettleItem>, release: boolean) {
    const dead = items.filter((item) => item.mode === "dead")
    if (dead.length > 0) {
      yield* call("SADD dead-targets", () => client.sadd(global.deadTargets, target))
    }
    const args: Array<string | number> = [target, settings.group, token, settings.deadLetterMaxLen, release ? 1 : 0]
    for (const item of items) {
      const extra = item.mode === "retry" ? Math.max(0, Math.ceil(item.delayMs)) : item.mode === "dead" ? item.reason : ""
      args.push(item.mode, item.entry.entryId, item.entry.jobId, extra, item.entry.attempt)
    }
    const result: SettleResult = yield* runScript(client, "settle", scripts.settle, keysOf(target), args).pipe(Effect.flatMap(decodeSettle))
    if (result._tag === "LeaseLost") return yield* leaseLost(target)
    if (result._tag === "Later") {
      yield* nudge([[target, result.wakeAt]])
      wakeLocal()
    }
    const at = yield* Clock.currentTimeMillis
    for (const item of dead) {
      yield* emit({
        _tag: "DeadLettered",
        at,
        target,
        jobId: item.entry.jobId,
        grantId: grantIdOf(item.entry.payload),
        reason: item.reason,
        attempts: item.entry.attempt
      })
    }
  })

  const candidates = (limit: number) =>
    runScript(client, "candidates", scripts.candidates, readyKeys, [limit]).pipe(Effect.flatMap(decodeCandidates))

  const resolve = (found: ReadonlyArray<readonly [string, string, number]>) =>
    found.length === 0 || inline ? Effect.void : runScript(client, "resolve", scripts.resolve, readyKeys, found.flat()).pipe(Effect.asVoid)

  const deadLetters = Effect.gen(function* () {
    const targets = yield* call("SMEMBERS dead-targets", () => client.smembers(global.deadTargets))
    const perTarget = yield* Effect.forEach(
      targets,
      (target) => call("XRANGE dead", () => client.xrange(targetKeys(settings.prefix, target).dead, "-", "+")),
      { concurrency: 16 }
    )
    const letters: Array<JobQueue.DeadLetter & { readonly at: number }> = []
    for (const entries of perTarget) {
      for (const [, fields] of entries) {
        const record = new Map<string, string>()
        for (let index = 0; index + 1 < fields.length; index += 2) record.set(fields[index]!, fields[index + 1]!)
        const decoded = decodeJobJson(record.get("job") ?? "")
        letters.push({
          job: decoded._tag === "Success" ? decoded.value : null,
          reason: record.get("reason") ?? "",
          attempts: Number(record.get("attempts") ?? 0),
          at: Number(record.get("at") ?? 0)
        })
      }
    }
    return letters
      .sort((left, right) => left.at - right.at)
      .map(({ job, reason, attempts }): JobQueue.DeadLetter => ({ job, reason, attempts }))
  })

  return {
    client,
    settings,
    publish,
    take,
    check,
    settle,
    candidates,
    resolve,
    nudge,
    emit,
    sleepOrWake,
    deadLetters,
    events: Effect.sync(() => events)
  }
})
