/**
 * The `PullStore` contract suite: every pull store adapter (in-memory, PostgreSQL, PGlite)
 * runs it and must pass it unchanged.
 *
 * It talks to the store only through the port, inside one `@effect/vitest` `layer(...)`
 * block (the layer is built once and shared; tests run one after another). Each test uses
 * its own random device ids, so a backend shared with other writers is fine. The optional
 * `probe.rawDump` reads the backend directly; the suite searches it for a password that a
 * caller smuggled into a command, so an adapter cannot pass by being consistent only with
 * itself.
 *
 * The property test uses fast-check; a failure prints the seed and path to replay it.
 *
 * @since 0.1.0
 */
import { assert, describe, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import type { DeviceId, GrantId } from "../Ids.ts"
import { randomToken } from "../internal/randomToken.ts"
import { PullStore } from "../PullStore.ts"
import type { PendingCommand, PullCommand } from "../PullStore.ts"
import { testSuffix } from "../testing/fixtures.ts"

/**
 * Options of the suite.
 *
 * @category testing
 * @since 0.1.0
 */
export interface PullStoreSuiteOptions {
  readonly probe?: {
    /** A dump of everything the backend stores (searched for smuggled passwords). */
    readonly rawDump?: Effect.Effect<string, unknown>
  }
  /** Runs of the fast-check property (default 25). */
  readonly propertyRuns?: number
}

type Store = PullStore["Service"]

const newDevice = (): DeviceId => `device-${testSuffix()}` as DeviceId
const newGrantId = (): GrantId => `ga_test_${testSuffix()}` as GrantId
const hashOf = (): string => randomToken(64, "0123456789abcdef")

/** A command of each kind, by index. */
const commandOf = (index: number): PullCommand => {
  const grantId = newGrantId()
  const username = `ta-${testSuffix()}`
  switch (index % 6) {
    case 0:
      return {
        _tag: "CreateUser",
        grantId,
        username,
        permission: "read-only",
        group: "read",
        allowedAddress: "10.8.0.1",
        expiresAt: 1_900_000_000_000
      }
    case 1:
      return { _tag: "EnableUser", username }
    case 2:
      return { _tag: "RemoveUser", username }
    case 3:
      return {
        _tag: "OpenForward",
        forward: {
          grantId,
          listenPort: 20_001,
          to: { address: "192.0.2.10", port: 80 },
          allowedAddress: "10.8.0.1",
          expiresAt: 1_900_000_000_000
        },
        dstAddress: "10.200.0.2"
      }
    case 4:
      return { _tag: "EnableForward", grantId }
    default:
      return { _tag: "CloseForward", grantId }
  }
}

const entry = (sequence: number, index = sequence): PendingCommand => ({ sequence, command: commandOf(index) })
const sequences = (pending: ReadonlyArray<PendingCommand>) => pending.map((item) => item.sequence)
const checkIn = (sequence: number, report: unknown = { users: [], note: 'quote " and newline \n' }) => ({
  sequence,
  receivedAt: 1_800_000_000_000 + sequence,
  report: report as never
})

const expectCorrupt = <A>(effect: Effect.Effect<A, { readonly _tag: string; readonly reason?: string }>) =>
  Effect.gen(function* () {
    const error = yield* Effect.flip(effect)
    assert.strictEqual(error._tag, "StoreError")
    assert.strictEqual(error.reason, "Corrupt")
  })

type Operation = { readonly kind: "enqueue"; readonly sequence: number } | { readonly kind: "checkIn"; readonly sequence: number }

/** Runs operations against the store and a model, comparing after each step. */
const runModel = (store: Store, operations: ReadonlyArray<Operation>) =>
  Effect.gen(function* () {
    const deviceId = newDevice()
    let applied = 0
    let issued = 0
    let count = 0
    const queued = new Set<number>()
    for (const operation of operations) {
      if (operation.kind === "enqueue") {
        const accepted = yield* store.enqueue(deviceId, entry(operation.sequence))
        const expected = operation.sequence > applied && !queued.has(operation.sequence)
        if (accepted !== expected) throw new Error(`enqueue ${operation.sequence}: store said ${accepted}, model ${expected}`)
        if (expected) queued.add(operation.sequence)
        issued = Math.max(issued, operation.sequence)
      } else {
        const result = yield* store.recordCheckIn(deviceId, checkIn(operation.sequence))
        const outcome = operation.sequence > issued ? "Unissued" : operation.sequence < applied ? "Stale" : "Recorded"
        if (result.outcome !== outcome) throw new Error(`check-in ${operation.sequence}: store said ${result.outcome}, model ${outcome}`)
        if (outcome === "Recorded") {
          applied = operation.sequence
          for (const sequence of [...queued]) if (sequence <= applied) queued.delete(sequence)
          count++
        }
        if (result.count !== count) throw new Error(`check-in count ${result.count}, model ${count}`)
      }
      const expected = [...queued].sort((a, b) => a - b)
      const actual = sequences(yield* store.pending(deviceId))
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(`pending ${JSON.stringify(actual)}, model ${JSON.stringify(expected)}`)
      }
      const storedApplied = yield* store.appliedSequence(deviceId)
      if (storedApplied !== applied) throw new Error(`applied ${storedApplied}, model ${applied}`)
    }
  })

/**
 * Registers the `PullStore` contract tests for an adapter layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = (name: string, storeLayer: Layer.Layer<PullStore, unknown>, options: PullStoreSuiteOptions = {}): void => {
  const propertyRuns = options.propertyRuns ?? 25
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`${name} (PullStore contract)`, (it) => {
    describe("device tokens", () => {
      it.effect("a token hash is absent, then set, then rotated; devices are independent", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const [device, other] = [newDevice(), newDevice()]
          assert.isTrue(Option.isNone(yield* store.tokenHash(device)))
          const first = hashOf()
          yield* store.setTokenHash(device, first)
          assert.deepStrictEqual(yield* store.tokenHash(device), Option.some(first))
          const second = hashOf()
          yield* store.setTokenHash(device, second)
          assert.deepStrictEqual(yield* store.tokenHash(device), Option.some(second))
          assert.isTrue(Option.isNone(yield* store.tokenHash(other)))
        })
      )

      it.effect("a rotation keeps the previous hash until it is retired, unless told not to", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const [first, second, third] = ["a1", "b2", "c3"].map((pair) => pair.repeat(32))
          yield* store.setTokenHash(device, first!)
          assert.isTrue(Option.isNone(yield* store.previousTokenHash(device)))
          yield* store.setTokenHash(device, second!, { keepPrevious: true })
          assert.deepStrictEqual(yield* store.tokenHash(device), Option.some(second!))
          assert.deepStrictEqual(yield* store.previousTokenHash(device), Option.some(first!))
          yield* store.retirePreviousTokenHash(device)
          assert.isTrue(Option.isNone(yield* store.previousTokenHash(device)))
          yield* store.setTokenHash(device, third!, { keepPrevious: true })
          yield* store.setTokenHash(device, first!)
          assert.isTrue(Option.isNone(yield* store.previousTokenHash(device)), "a revoking rotation drops the previous hash")
          assert.deepStrictEqual(yield* store.tokenHash(device), Option.some(first!))
        })
      )

      it.effect("a malformed token hash is refused (Corrupt) and changes nothing", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const hash = hashOf()
          yield* store.setTokenHash(device, hash)
          yield* expectCorrupt(store.setTokenHash(device, "not-a-hash"))
          yield* expectCorrupt(store.setTokenHash(device, hash.toUpperCase()))
          assert.deepStrictEqual(yield* store.tokenHash(device), Option.some(hash))
        })
      )
    })

    describe("pending commands", () => {
      it.effect("commands of every kind come back exactly, ascending by sequence; the first of a sequence wins", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const entries = [entry(3), entry(1), entry(5), entry(2), entry(4)]
          for (const item of entries) assert.isTrue(yield* store.enqueue(device, item))
          assert.isFalse(yield* store.enqueue(device, entry(3, 7)), "a second command with sequence 3 is dropped")
          const pending = yield* store.pending(device)
          assert.deepStrictEqual(
            pending,
            [...entries].sort((a, b) => a.sequence - b.sequence)
          )
          assert.deepStrictEqual(yield* store.pending(newDevice()), [])
          assert.strictEqual(yield* store.appliedSequence(device), 0)
        })
      )

      it.effect("invalid commands are refused (Corrupt) and nothing is written", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const invalid: ReadonlyArray<unknown> = [
            { sequence: 0, command: commandOf(1) },
            { sequence: 1.5, command: commandOf(1) },
            { sequence: 1, command: { _tag: "Reboot" } },
            { sequence: 1, command: { ...commandOf(0), grantId: "bad id with spaces" } },
            { sequence: 1, command: { ...commandOf(0), expiresAt: -1 } },
            { sequence: 1, command: { _tag: "EnableUser" } }
          ]
          for (const item of invalid) yield* expectCorrupt(store.enqueue(device, item as PendingCommand))
          assert.deepStrictEqual(yield* store.pending(device), [])
        })
      )

      it.effect("no secret is stored: fields outside the schema (a password) are dropped", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const password = `Pw-${randomToken(24)}`
          const command = commandOf(0)
          const smuggled = { sequence: 1, command: { ...command, password }, password } as unknown as PendingCommand
          assert.isTrue(yield* store.enqueue(device, smuggled))
          const pending = yield* store.pending(device)
          assert.deepStrictEqual(pending, [{ sequence: 1, command }])
          assert.notInclude(JSON.stringify(pending), password)
          if (options.probe?.rawDump !== undefined) {
            const dump = yield* Effect.orDie(options.probe.rawDump)
            assert.include(dump, command._tag === "CreateUser" ? command.username : "", "the probe sees the command")
            assert.notInclude(dump, password, "the password reached the backend")
          }
        })
      )
    })

    describe("check-ins", () => {
      it.effect("a check-in drops commands at or below its sequence, counts, and is kept exactly", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          for (const sequence of [1, 2, 3, 4]) yield* store.enqueue(device, entry(sequence))
          assert.isTrue(Option.isNone(yield* store.lastCheckIn(device)))
          const report = { users: [{ name: "ta-x", disabled: true }], nat: [], nested: { quote: "\"'$\\", n: 1.5, nothing: null } }
          const first = yield* store.recordCheckIn(device, checkIn(2, report))
          assert.strictEqual(first.count, 1)
          assert.deepStrictEqual(sequences(first.pending), [3, 4])
          assert.deepStrictEqual(sequences(yield* store.pending(device)), [3, 4])
          assert.deepStrictEqual(yield* store.lastCheckIn(device), Option.some({ ...checkIn(2, report), count: 1 }))
          assert.strictEqual(yield* store.appliedSequence(device), 2)
          const second = yield* store.recordCheckIn(device, checkIn(4))
          assert.strictEqual(second.count, 2)
          assert.deepStrictEqual(second.pending, [])
        })
      )

      it.effect("the applied sequence never goes back; commands at or below it are dropped on enqueue", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          for (const sequence of [1, 2, 3, 4, 5]) yield* store.enqueue(device, entry(sequence))
          assert.strictEqual((yield* store.recordCheckIn(device, checkIn(5))).outcome, "Recorded")
          assert.isFalse(yield* store.enqueue(device, entry(5)))
          assert.isFalse(yield* store.enqueue(device, entry(3)))
          assert.isTrue(yield* store.enqueue(device, entry(6)))
          // a late (older) check-in is stale: not recorded, so the last check-in stays the freshest
          const late = yield* store.recordCheckIn(device, checkIn(2))
          assert.strictEqual(late.outcome, "Stale")
          assert.strictEqual(late.count, 1)
          assert.deepStrictEqual(sequences(late.pending), [6], "a device that lost its state still gets what is pending")
          assert.strictEqual(yield* store.appliedSequence(device), 5)
          const last = yield* store.lastCheckIn(device)
          assert.strictEqual(Option.getOrThrow(last).sequence, 5)
        })
      )

      it.effect("a check-in above every issued sequence (forged) is Unissued and changes nothing", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          const fresh = yield* store.recordCheckIn(device, checkIn(1))
          assert.strictEqual(fresh.outcome, "Unissued", "nothing was ever issued to a new device")
          assert.isTrue(Option.isNone(yield* store.lastCheckIn(device)))
          for (const sequence of [1, 2, 3]) yield* store.enqueue(device, entry(sequence))
          assert.strictEqual((yield* store.recordCheckIn(device, checkIn(1))).outcome, "Recorded")
          const forged = yield* store.recordCheckIn(device, checkIn(1_000_000))
          assert.strictEqual(forged.outcome, "Unissued")
          assert.strictEqual(forged.count, 1)
          assert.strictEqual(yield* store.appliedSequence(device), 1, "a forged sequence never raises applied")
          assert.deepStrictEqual(sequences(yield* store.pending(device)), [2, 3], "nor drops what is pending")
          assert.strictEqual(Option.getOrThrow(yield* store.lastCheckIn(device)).sequence, 1)
          assert.strictEqual((yield* store.recordCheckIn(device, checkIn(0))).outcome, "Stale")
          assert.strictEqual((yield* store.recordCheckIn(device, checkIn(3))).outcome, "Recorded")
        })
      )

      it.effect("a pending command's secret is delivered once: claimDelivery is true once, under concurrency too", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          assert.isFalse(yield* store.claimDelivery(device, 1), "nothing queued")
          for (const sequence of [1, 2]) yield* store.enqueue(device, entry(sequence))
          const claims = yield* Effect.all(
            Array.from({ length: 10 }, () => store.claimDelivery(device, 1)),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(claims.filter((claimed) => claimed).length, 1)
          assert.isFalse(yield* store.claimDelivery(device, 1))
          yield* store.recordCheckIn(device, checkIn(2))
          assert.isFalse(yield* store.claimDelivery(device, 2), "applied: no longer pending")
        })
      )

      it.effect("an invalid check-in is refused (Corrupt) and changes nothing", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const device = newDevice()
          yield* store.enqueue(device, entry(1))
          yield* expectCorrupt(store.recordCheckIn(device, { ...checkIn(1), sequence: -1 }))
          yield* expectCorrupt(store.recordCheckIn(device, { ...checkIn(1), receivedAt: Number.NaN }))
          yield* expectCorrupt(store.recordCheckIn(device, { ...checkIn(1), report: { value: Number.POSITIVE_INFINITY } as never }))
          assert.isTrue(Option.isNone(yield* store.lastCheckIn(device)))
          assert.deepStrictEqual(sequences(yield* store.pending(device)), [1])
        })
      )

      it.effect(
        "concurrent check-ins: each recorded one gets its own count, stale ones none; enqueues never outlive the applied sequence",
        () =>
          Effect.gen(function* () {
            const store = yield* PullStore
            const device = newDevice()
            for (let sequence = 2; sequence <= 38; sequence += 2) yield* store.enqueue(device, entry(sequence))
            const results = yield* Effect.forEach(
              Array.from({ length: 20 }, (_, index) => index),
              (index) => Effect.all([store.recordCheckIn(device, checkIn(index * 2)), store.enqueue(device, entry(index * 2 + 1))]),
              { concurrency: "unbounded" }
            )
            const recorded = results.map(([result]) => result).filter((result) => result.outcome === "Recorded")
            assert.isAtLeast(recorded.length, 1)
            assert.deepStrictEqual(
              recorded.map((result) => result.count).sort((a, b) => a - b),
              Array.from({ length: recorded.length }, (_, index) => index + 1)
            )
            assert.isTrue(results.every(([result]) => result.outcome !== "Unissued"))
            const applied = yield* store.appliedSequence(device)
            assert.strictEqual(applied, 38)
            assert.isTrue((yield* store.pending(device)).every((item) => item.sequence > applied))
            assert.strictEqual(Option.getOrThrow(yield* store.lastCheckIn(device)).count, recorded.length)
            assert.strictEqual(Option.getOrThrow(yield* store.lastCheckIn(device)).sequence, 38)
          })
      )
    })

    describe("model", () => {
      it.effect("pending, applied and counts follow the model for any sequence of enqueues and check-ins (fast-check)", () =>
        Effect.gen(function* () {
          const store = yield* PullStore
          const operation: fc.Arbitrary<Operation> = fc.oneof(
            fc.record({ kind: fc.constant("enqueue" as const), sequence: fc.integer({ min: 1, max: 12 }) }),
            fc.record({ kind: fc.constant("checkIn" as const), sequence: fc.integer({ min: 0, max: 12 }) })
          )
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 16 }), (operations) =>
                Effect.runPromise(runModel(store, operations))
              ),
              { numRuns: propertyRuns }
            )
          )
        })
      )
    })
  })
}
