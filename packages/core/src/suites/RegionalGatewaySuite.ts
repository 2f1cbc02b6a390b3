/**
 * The contract suite of the `RegionalGateway` port. Every regional adapter runs it; so does
 * the in-memory gateway.
 *
 * ```ts
 * import { RegionalGatewaySuite } from "@transient-access/core/suites"
 * RegionalGatewaySuite.suite("IptablesGateway", layer, {
 *   region, target: { address: "10.8.0.2", port: 22 },
 *   probe: { taggedGrantIds: (region) => readIptablesComments(region) }
 * })
 * ```
 *
 * Tests run with the live clock (`it.live`). `layer` is built afresh for every test. Every
 * test uses its own grant ids and random public ports from the region's range, starts its
 * revisions above the region's recorded one, and only looks at its own paths, so a server
 * shared with other tests is fine. When `probe` is given, every listing is cross-checked
 * against the raw backend (an adapter cannot pass by agreeing with itself).
 *
 * @since 0.1.0
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as fc from "fast-check"
import type { Target } from "../Grant.ts"
import type { GrantId } from "../Ids.ts"
import { randomToken } from "../internal/randomToken.ts"
import { RegionalGateway } from "../RegionalGateway.ts"
import type { NatPath } from "../RegionalGateway.ts"
import type { RegionalGatewayError } from "../TargetError.ts"
import type { Region } from "../Topology.ts"

/**
 * Options of the regional gateway suite.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R> {
  /** The region the adapter manages (its port range must hold at least 16 ports). */
  readonly region: Region
  /** Where the test paths forward to (a device tunnel address and service port). */
  readonly target: Target
  /** Reads the grant ids tagged on the raw backend (e.g. `ta:<grant>` rule comments). */
  readonly probe?: {
    readonly taggedGrantIds: (region: Region) => Effect.Effect<ReadonlyArray<string>, unknown, R>
  }
  /** Runs of the open/close sequence property (default 25). */
  readonly propertyRuns?: number
}

const hour = 3_600_000

/**
 * Registers the `RegionalGateway` contract tests for an adapter layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = <R = never>(name: string, layer: Layer.Layer<RegionalGateway | R, unknown>, options: Options<R>): void => {
  const region = options.region
  const run = <A, E>(effect: Effect.Effect<A, E, RegionalGateway | R>) => effect.pipe(Effect.provide(layer))

  /** Unique grant ids and distinct random ports of the region for one test or run. */
  const makeScope = () => {
    const token = randomToken(10)
    const { from, to } = region.portRange
    const width = to - from + 1
    const offset = Math.floor(Math.random() * width)
    const used = new Set<GrantId>()
    return {
      grant: (index: number): GrantId => {
        const id = `ga_rgs${token}_${index}` as GrantId
        used.add(id)
        return id
      },
      port: (index: number): number => from + ((offset + index * 7919) % width),
      own: <P extends { readonly grantId: string }>(paths: ReadonlyArray<P>): Array<P> =>
        paths.filter((path) => used.has(path.grantId as GrantId)),
      used
    }
  }
  type Scope = ReturnType<typeof makeScope>

  const pathFor = (grantId: GrantId, publicPort: number, stopAt: number, source = "203.0.113.0/24"): NatPath => ({
    grantId,
    regionId: region.id,
    publicPort,
    source,
    target: { address: options.target.address, port: options.target.port },
    stopAt
  })

  const sortPaths = (paths: ReadonlyArray<NatPath>): Array<NatPath> =>
    [...paths].sort((left, right) => left.grantId.localeCompare(right.grantId))

  /** The scope's paths, cross-checked against the probe. */
  const ownPaths = Effect.fnUntraced(function* (scope: Scope) {
    const gateway = yield* RegionalGateway
    const own = sortPaths(scope.own(yield* gateway.list(region)))
    if (options.probe !== undefined) {
      const raw = (yield* options.probe.taggedGrantIds(region)).filter((id) => scope.used.has(id as GrantId))
      assert.deepStrictEqual(
        [...new Set(raw)].sort(),
        own.map((path) => path.grantId as string).sort(),
        "the raw backend disagrees with list()"
      )
    }
    return own
  })

  /** A revision newer than anything the region recorded. */
  const freshRevision = Effect.gen(function* () {
    const gateway = yield* RegionalGateway
    return (yield* gateway.revision(region)) + 1
  })

  /** Closes every path of the scope at the region's current revision. */
  const cleanup = Effect.fnUntraced(function* (scope: Scope) {
    const gateway = yield* RegionalGateway
    const revision = yield* gateway.revision(region)
    for (const path of yield* ownPaths(scope)) {
      yield* gateway.close(region, { grantId: path.grantId, publicPort: path.publicPort }, revision)
    }
  })

  const expectReason = (error: RegionalGatewayError, reason: RegionalGatewayError["reason"], what: string) =>
    assert.strictEqual(error.reason, reason, `${what}: expected ${reason}, got ${error.reason} (${error.message})`)

  describe(`${name} (RegionalGateway contract)`, () => {
    it.live("open lists the path as given; revision() reports the revision", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const path = pathFor(scope.grant(0), scope.port(0), (yield* Clock.currentTimeMillis) + hour)
          yield* gateway.open(region, path, revision)
          assert.deepStrictEqual(yield* ownPaths(scope), [path])
          assert.strictEqual(yield* gateway.revision(region), revision)
          yield* cleanup(scope)
        })
      )
    )

    it.live("open is idempotent for the same grant", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const path = pathFor(scope.grant(0), scope.port(0), (yield* Clock.currentTimeMillis) + hour, "198.51.100.7/32")
          yield* gateway.open(region, path, revision)
          yield* gateway.open(region, path, revision)
          yield* gateway.open(region, path, revision + 1)
          assert.deepStrictEqual(yield* ownPaths(scope), [path])
          assert.strictEqual(yield* gateway.revision(region), revision + 1)
          yield* cleanup(scope)
        })
      )
    )

    it.live("close removes the path; closing again or closing an unknown grant succeeds", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const path = pathFor(scope.grant(0), scope.port(0), (yield* Clock.currentTimeMillis) + hour)
          yield* gateway.open(region, path, revision)
          yield* gateway.close(region, { grantId: path.grantId, publicPort: path.publicPort }, revision + 1)
          assert.deepStrictEqual(yield* ownPaths(scope), [])
          yield* gateway.close(region, { grantId: path.grantId, publicPort: path.publicPort }, revision + 2)
          yield* gateway.close(region, { grantId: scope.grant(1), publicPort: scope.port(1) }, revision + 3)
          assert.deepStrictEqual(yield* ownPaths(scope), [])
          assert.strictEqual(yield* gateway.revision(region), revision + 3)
        })
      )
    )

    it.live("a second grant on an occupied port is Rejected and nothing changes", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const stopAt = (yield* Clock.currentTimeMillis) + hour
          const first = pathFor(scope.grant(0), scope.port(0), stopAt)
          yield* gateway.open(region, first, revision)
          const error = yield* Effect.flip(gateway.open(region, pathFor(scope.grant(1), scope.port(0), stopAt), revision + 1))
          expectReason(error, "Rejected", "second grant on an occupied port")
          assert.deepStrictEqual(yield* ownPaths(scope), [first])
          assert.strictEqual(yield* gateway.revision(region), revision)
          yield* cleanup(scope)
        })
      )
    )

    it.live("a change older than the recorded revision is StaleRevision and changes nothing; equal applies", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const base = yield* freshRevision
          const stopAt = (yield* Clock.currentTimeMillis) + hour
          const first = pathFor(scope.grant(0), scope.port(0), stopAt)
          const second = pathFor(scope.grant(1), scope.port(1), stopAt)
          yield* gateway.open(region, first, base + 2)
          expectReason(yield* Effect.flip(gateway.open(region, second, base + 1)), "StaleRevision", "stale open")
          expectReason(
            yield* Effect.flip(gateway.close(region, { grantId: first.grantId, publicPort: first.publicPort }, base + 1)),
            "StaleRevision",
            "stale close"
          )
          assert.deepStrictEqual(yield* ownPaths(scope), [first])
          assert.strictEqual(yield* gateway.revision(region), base + 2)
          yield* gateway.open(region, second, base + 2)
          yield* gateway.close(region, { grantId: first.grantId, publicPort: first.publicPort }, base + 2)
          assert.deepStrictEqual(yield* ownPaths(scope), [second])
          assert.strictEqual(yield* gateway.revision(region), base + 2)
          yield* cleanup(scope)
        })
      )
    )

    it.live("revision() reports the highest applied revision", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const base = yield* freshRevision
          const stopAt = (yield* Clock.currentTimeMillis) + hour
          yield* gateway.open(region, pathFor(scope.grant(0), scope.port(0), stopAt), base)
          yield* gateway.open(region, pathFor(scope.grant(1), scope.port(1), stopAt), base + 3)
          yield* Effect.flip(gateway.open(region, pathFor(scope.grant(2), scope.port(2), stopAt), base + 2))
          assert.strictEqual(yield* gateway.revision(region), base + 3)
          yield* cleanup(scope)
        })
      )
    )

    it.live("invalid input is Rejected and changes nothing", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const base = yield* freshRevision
          const stopAt = (yield* Clock.currentTimeMillis) + hour
          const valid = pathFor(scope.grant(0), scope.port(0), stopAt)
          const invalid: ReadonlyArray<readonly [string, NatPath]> = [
            ...[
              "10.0.0.1/24",
              "10.0.0.1",
              "010.0.0.0/8",
              "10.0.0.0/33",
              "not-a-cidr",
              "",
              " 10.0.0.0/8",
              "2001:DB8::/32",
              "::ffff:10.0.0.0/104",
              "10.0.0.0/8;reboot"
            ].map((source) => [`source ${JSON.stringify(source)}`, { ...valid, source }] as const),
            ...[0, 65_536, -1, 1.5].map((publicPort) => [`public port ${publicPort}`, { ...valid, publicPort }] as const),
            ...[0, 70_000].map((port) => [`target port ${port}`, { ...valid, target: { ...valid.target, port } }] as const),
            ...["10.0.0.01", "::ffff:10.0.0.1", "example.com", "", "2001:DB8::1", "10.0.0.1 "].map(
              (address) => [`target address ${JSON.stringify(address)}`, { ...valid, target: { ...valid.target, address } }] as const
            )
          ]
          for (const [index, [what, path]] of invalid.entries()) {
            const error = yield* Effect.flip(gateway.open(region, path, base + index))
            expectReason(error, "Rejected", what)
          }
          assert.deepStrictEqual(yield* ownPaths(scope), [])
          assert.isBelow(yield* gateway.revision(region), base, "a rejected change recorded its revision")
          yield* cleanup(scope)
        })
      )
    )

    it.live("close removes only that grant's path", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const stopAt = (yield* Clock.currentTimeMillis) + hour
          const paths = [0, 1, 2].map((index) => pathFor(scope.grant(index), scope.port(index), stopAt))
          for (const path of paths) yield* gateway.open(region, path, revision)
          const [first, middle, last] = paths as [NatPath, NatPath, NatPath]
          yield* gateway.close(region, { grantId: middle.grantId, publicPort: middle.publicPort }, revision + 1)
          assert.deepStrictEqual(yield* ownPaths(scope), sortPaths([first, last]))
          yield* cleanup(scope)
        })
      )
    )

    it.live("list includes paths whose stop time has passed", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* RegionalGateway
          const scope = makeScope()
          const revision = yield* freshRevision
          const path = pathFor(scope.grant(0), scope.port(0), (yield* Clock.currentTimeMillis) + 150)
          yield* gateway.open(region, path, revision)
          yield* Effect.sleep("300 millis")
          assert.deepStrictEqual(yield* ownPaths(scope), [path])
          yield* cleanup(scope)
        })
      )
    )

    it.live(
      "after any sequence of opens and closes with rising revisions, list equals the model (property)",
      () =>
        Effect.gen(function* () {
          const context = yield* Effect.context<RegionalGateway | R>()
          type Command = { readonly op: "open" | "close"; readonly grant: number }
          const runOnce = (commands: ReadonlyArray<Command>) =>
            Effect.gen(function* () {
              const gateway = yield* RegionalGateway
              const scope = makeScope()
              const base = yield* freshRevision
              const stopAt = (yield* Clock.currentTimeMillis) + hour
              const model = new Map<GrantId, NatPath>()
              let recorded = base - 1
              const problems: Array<string> = []
              for (const [index, command] of commands.entries()) {
                const revision = base + index
                const grantId = scope.grant(command.grant)
                const port = scope.port(command.grant % 3)
                if (command.op === "open") {
                  const path = pathFor(grantId, port, stopAt)
                  const occupied = [...model.values()].some((other) => other.grantId !== grantId && other.publicPort === port)
                  const result = yield* Effect.result(gateway.open(region, path, revision))
                  if (occupied) {
                    if (result._tag === "Success" || result.failure.reason !== "Rejected") {
                      problems.push(`step ${index}: open of ${grantId} on an occupied port was not Rejected`)
                    }
                  } else if (result._tag === "Failure") {
                    problems.push(`step ${index}: open of ${grantId} failed: ${result.failure.reason} ${result.failure.message}`)
                  } else {
                    model.set(grantId, path)
                    recorded = revision
                  }
                } else {
                  const result = yield* Effect.result(gateway.close(region, { grantId, publicPort: port }, revision))
                  if (result._tag === "Failure") {
                    problems.push(`step ${index}: close of ${grantId} failed: ${result.failure.reason} ${result.failure.message}`)
                  } else {
                    model.delete(grantId)
                    recorded = revision
                  }
                }
              }
              const listed = yield* ownPaths(scope)
              if (JSON.stringify(listed) !== JSON.stringify(sortPaths([...model.values()]))) {
                problems.push(`list ${JSON.stringify(listed.map((path) => path.grantId))} != model ${JSON.stringify([...model.keys()])}`)
              }
              const revision = yield* gateway.revision(region)
              if (recorded >= base && revision !== recorded) problems.push(`revision() = ${revision}, expected ${recorded}`)
              yield* cleanup(scope)
              return problems
            })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(
                fc.array(fc.record({ op: fc.constantFrom("open" as const, "close" as const), grant: fc.integer({ min: 0, max: 5 }) }), {
                  minLength: 1,
                  maxLength: 20
                }),
                async (commands) => {
                  const problems = await Effect.runPromiseWith(context)(runOnce(commands))
                  if (problems.length > 0) throw new Error(problems.join("\n"))
                }
              ),
              { numRuns: options.propertyRuns ?? 25 }
            )
          )
        }).pipe(Effect.provide(layer)),
      120_000
    )
  })
}
