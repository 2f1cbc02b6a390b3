/**
 * Real-socket tests of the relay: traffic flows for allowed sources only, the stop time and
 * `close` cut live connections, the revision fence and port exclusivity hold.
 */
import { assert, describe, it } from "@effect/vitest"
import { RegionalGateway } from "@transient-access/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RelayGateway } from "../src/index.ts"
import { echoServer, exchange, freePort, natPath, openClient, region } from "./utils.ts"

const promise = <A>(thunk: () => Promise<A>) => Effect.promise(thunk)

interface Scenario {
  readonly gateway: RegionalGateway.RegionalGateway["Service"]
  readonly relay: RelayGateway.Relay["Service"]
  readonly port: number
  readonly region: ReturnType<typeof region>
  /** A path on the scenario's port to the echo server, stopping in 60 s unless told. */
  readonly path: (grantId: string, source?: string, stopAt?: number) => ReturnType<typeof natPath>
}

/** An echo target, a free public port, and a fresh relay layer around `body`. */
const scenario = <A, E, R>(name: string, body: (s: Scenario) => Effect.Effect<A, E, R>, options: RelayGateway.RelayOptions = {}) =>
  Effect.gen(function* () {
    const echo = yield* Effect.acquireRelease(promise(echoServer), (server) => promise(server.close))
    const port = yield* promise(() => freePort(options.bindAddress ?? "127.0.0.1"))
    const r = region(name, port)
    return yield* Effect.gen(function* () {
      const gateway = yield* RegionalGateway.RegionalGateway
      const relay = yield* RelayGateway.Relay
      return yield* body({
        gateway,
        relay,
        port,
        region: r,
        path: (grantId, source = "127.0.0.1/32", stopAt = Date.now() + 60_000) =>
          natPath({ grantId, region: r, port, targetPort: echo.port, source, stopAt })
      })
    }).pipe(Effect.provide(Layer.fresh(RelayGateway.layer(options))))
  })

describe("RelayGateway (real sockets)", () => {
  it.live("relays allowed sources and resets others (127.0.0.2 outside 127.0.0.1/32)", () =>
    scenario("r-allow", ({ gateway, path, port, region, relay }) =>
      Effect.gen(function* () {
        yield* gateway.open(region, path("g1"), 1)
        assert.deepStrictEqual(yield* promise(() => exchange(port, "hello\n")), { _tag: "Echoed", data: "hello\n" })
        const outside = yield* promise(() => exchange(port, "hello\n", { localAddress: "127.0.0.2" }))
        assert.strictEqual(outside._tag, "Refused")
        assert.strictEqual(yield* relay.refused, 1)
      })
    )
  )

  it.live("matches IPv4-mapped addresses of a dual-stack listener against IPv4 CIDRs", () =>
    scenario(
      "r-dual",
      ({ gateway, path, port, region, relay }) =>
        Effect.gen(function* () {
          yield* gateway.open(region, path("g1", "127.0.0.0/31"), 1)
          const client = yield* promise(() => openClient(port))
          const [connection] = yield* relay.connections
          assert.strictEqual(connection?.remoteAddress, "::ffff:127.0.0.1")
          client.socket.destroy()
          const outside = yield* promise(() => exchange(port, "x", { localAddress: "127.0.0.2" }))
          assert.strictEqual(outside._tag, "Refused")
        }),
      { bindAddress: "::" }
    )
  )

  it.live("stops accepting and cuts established connections at the stop time, keeps listing", () =>
    scenario("r-stop", ({ gateway, path, port, region }) =>
      Effect.gen(function* () {
        const stopAt = Date.now() + 600
        yield* gateway.open(region, path("g1", "127.0.0.0/8", stopAt), 1)
        const client = yield* promise(() => openClient(port))
        yield* promise(() => client.closed)
        assert.isTrue(Date.now() >= stopAt - 5, "cut at (not before) the stop time")
        assert.strictEqual((yield* promise(() => exchange(port, "late")))._tag, "Refused")
        assert.deepStrictEqual(
          (yield* gateway.list(region)).map((listed) => listed.grantId),
          ["g1"]
        )
      })
    )
  )

  it.live("close cuts live connections and frees the port; repeating it is success", () =>
    scenario("r-close", ({ gateway, path, port, region, relay }) =>
      Effect.gen(function* () {
        yield* gateway.open(region, path("g1"), 1)
        const client = yield* promise(() => openClient(port))
        assert.strictEqual((yield* relay.connections).length, 1)
        yield* gateway.close(region, { grantId: path("g1").grantId, publicPort: port }, 2)
        yield* promise(() => client.closed)
        assert.strictEqual((yield* relay.connections).length, 0)
        assert.deepStrictEqual(yield* gateway.list(region), [])
        assert.strictEqual((yield* promise(() => exchange(port, "x")))._tag, "Refused")
        yield* gateway.close(region, { grantId: path("g1").grantId, publicPort: port }, 3)
        // the port is free again: another grant may take it
        yield* gateway.open(region, path("g2"), 4)
        assert.deepStrictEqual(yield* promise(() => exchange(port, "again")), { _tag: "Echoed", data: "again" })
      })
    )
  )

  it.live("refuses older revisions and ports held by another grant", () =>
    scenario("r-fence", ({ gateway, path, port, region }) =>
      Effect.gen(function* () {
        yield* gateway.open(region, path("g1"), 5)
        yield* gateway.open(region, path("g1"), 5) // idempotent at the same revision
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g2"), 6))).reason, "Rejected")
        yield* gateway.close(region, { grantId: path("g1").grantId, publicPort: port }, 7)
        assert.strictEqual((yield* Effect.flip(gateway.open(region, path("g1"), 6))).reason, "StaleRevision")
        assert.deepStrictEqual(yield* gateway.list(region), [])
        assert.strictEqual(yield* gateway.revision(region), 7)
      })
    )
  )

  it.live("a port used by another process is a retryable failure", () =>
    scenario("r-busy", ({ gateway, path, region }) =>
      Effect.gen(function* () {
        const squatter = yield* Effect.acquireRelease(promise(echoServer), (server) => promise(server.close))
        const squatted = { ...region, portRange: { from: squatter.port, to: squatter.port } }
        const error = yield* Effect.flip(gateway.open(squatted, { ...path("g1"), publicPort: squatter.port }, 1))
        assert.isTrue(error.retryable)
        assert.deepStrictEqual(yield* gateway.list(squatted), [])
      })
    )
  )

  it.live("refuses a public port outside the region's range without listening on it", () =>
    scenario("r-range", ({ gateway, path, port, region, relay }) =>
      Effect.gen(function* () {
        const outside = port === 65_535 ? port - 1 : port + 1 // the region's range is just `port`
        const error = yield* Effect.flip(gateway.open(region, { ...path("g1"), publicPort: outside }, 1))
        assert.strictEqual(error.reason, "Rejected")
        assert.include(error.message, "outside the region's range")
        assert.deepStrictEqual(yield* gateway.list(region), [])
        assert.deepStrictEqual(yield* relay.listening, [])
      })
    )
  )

  it.live("tearing the layer down closes every port", () =>
    Effect.gen(function* () {
      let port = 0
      const client = yield* scenario("r-teardown", (s) =>
        Effect.gen(function* () {
          port = s.port
          yield* s.gateway.open(s.region, s.path("g1"), 1)
          return yield* promise(() => openClient(s.port))
        })
      )
      yield* promise(() => client.closed)
      assert.strictEqual((yield* promise(() => exchange(port, "x")))._tag, "Refused")
    })
  )
})
