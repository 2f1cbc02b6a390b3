/**
 * The contract suite of the `DeviceGateway` port. Every device adapter runs it; so does the
 * in-memory gateway.
 *
 * ```ts
 * import { DeviceGatewaySuite } from "@transient-access/core/suites"
 * DeviceGatewaySuite.suite("RouterOsApiGateway", layer, {
 *   device,
 *   probe: { usernames: (device) => listUsersWithLibrouteros(device) }
 * })
 * ```
 *
 * Tests run with the live clock (`it.live`). `layer` is built afresh for every test. Every
 * test uses its own grant ids, user names and forward ports (random suffix), removes what it
 * made, and only looks at its own artifacts, so a device shared with other tests is fine.
 * When `probe` is given, every inventory is cross-checked against the raw device.
 *
 * @since 0.1.0
 */
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { inspect } from "node:util"
import { DeviceGateway } from "../DeviceGateway.ts"
import type { DeviceForwardSpec, DeviceInventory, DeviceUserSpec } from "../DeviceGateway.ts"
import type { GrantId } from "../Ids.ts"
import { randomToken } from "../internal/randomToken.ts"
import type { DeviceGatewayError } from "../TargetError.ts"
import type { Device } from "../Topology.ts"

/**
 * Options of the device gateway suite.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<R> {
  readonly device: Device
  /** Reads the user names of the raw device (every user, or only the `ta-` ones). */
  readonly probe?: {
    readonly usernames: (device: Device) => Effect.Effect<ReadonlyArray<string>, unknown, R>
  }
  /** Where test forwards lead (a LAN host behind the device); default `192.0.2.10:80`. */
  readonly forwardTarget?: { readonly address: string; readonly port: number }
  /** The address allowed to log in / use forwards; default `10.8.0.1`. */
  readonly allowedAddress?: string
  /** Ports from which test forwards pick their listen ports; default 20000-29999. */
  readonly listenPorts?: { readonly from: number; readonly to: number }
}

const hour = 3_600_000

/**
 * Registers the `DeviceGateway` contract tests for an adapter layer.
 *
 * @category testing
 * @since 0.1.0
 */
export const suite = <R = never>(name: string, layer: Layer.Layer<DeviceGateway | R, unknown>, options: Options<R>): void => {
  const device = options.device
  const allowedAddress = options.allowedAddress ?? "10.8.0.1"
  const forwardTarget = options.forwardTarget ?? { address: "192.0.2.10", port: 80 }
  const listenPorts = options.listenPorts ?? { from: 20_000, to: 29_999 }
  const run = <A, E>(effect: Effect.Effect<A, E, DeviceGateway | R>) => effect.pipe(Effect.provide(layer))

  /** Unique grant ids, user names and listen ports for one test. */
  const makeScope = () => {
    const token = randomToken(10)
    const width = listenPorts.to - listenPorts.from + 1
    const offset = Math.floor(Math.random() * width)
    const grants = new Set<string>()
    const names = new Set<string>()
    return {
      grant: (index: number): GrantId => {
        const id = `ga_dgs${token}_${index}` as GrantId
        grants.add(id)
        return id
      },
      username: (index: number): string => {
        const username = `ta-${token}${index}`
        names.add(username)
        return username
      },
      port: (index: number): number => listenPorts.from + ((offset + index * 7919) % width),
      owns: { grants, names }
    }
  }
  type Scope = ReturnType<typeof makeScope>

  const userSpec = (scope: Scope, index: number, expiresAt: number): DeviceUserSpec => ({
    grantId: scope.grant(index),
    username: scope.username(index),
    password: Redacted.make(`Pw${randomToken(22)}`),
    permission: index % 2 === 0 ? "read-only" : "full",
    allowedAddress,
    expiresAt
  })

  const forwardSpec = (scope: Scope, index: number, expiresAt: number): DeviceForwardSpec => ({
    grantId: scope.grant(index),
    listenPort: scope.port(index),
    to: { address: forwardTarget.address, port: forwardTarget.port },
    allowedAddress,
    expiresAt
  })

  /** The scope's part of the inventory, cross-checked against the probe. */
  const ownInventory = Effect.fnUntraced(function* (scope: Scope) {
    const gateway = yield* DeviceGateway
    const inventory = yield* gateway.inventory(device)
    const own: DeviceInventory = {
      users: inventory.users
        .filter((user) => scope.owns.names.has(user.username))
        .toSorted((left, right) => left.username.localeCompare(right.username)),
      forwards: inventory.forwards
        .filter((forward) => scope.owns.grants.has(forward.grantId))
        .toSorted((left, right) => left.grantId.localeCompare(right.grantId))
    }
    if (options.probe !== undefined) {
      const raw = (yield* options.probe.usernames(device)).filter((username) => scope.owns.names.has(username))
      assert.deepStrictEqual(
        [...new Set(raw)].sort(),
        own.users.map((user) => user.username),
        "the raw device disagrees with inventory()"
      )
    }
    return { own, inventory }
  })

  /** Removes everything the scope made. */
  const cleanup = Effect.fnUntraced(function* (scope: Scope) {
    const gateway = yield* DeviceGateway
    for (const username of scope.owns.names) yield* gateway.removeUser(device, username)
    for (const grantId of scope.owns.grants) yield* gateway.closeForward(device, grantId as GrantId)
  })

  const expectReason = (error: DeviceGatewayError, reason: DeviceGatewayError["reason"], what: string) =>
    assert.strictEqual(error.reason, reason, `${what}: expected ${reason}, got ${error.reason} (${error.message})`)

  const expiry = Effect.map(Clock.currentTimeMillis, (now) => now + hour)

  describe(`${name} (DeviceGateway contract)`, () => {
    it.live("createUser creates the user disabled and tagged with its grant", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 0, yield* expiry)
          yield* gateway.createUser(device, spec)
          const { own } = yield* ownInventory(scope)
          assert.deepStrictEqual(own.users, [
            { username: spec.username, grantId: spec.grantId, disabled: true, permission: spec.permission }
          ])
          yield* cleanup(scope)
        })
      )
    )

    it.live("createUser is idempotent for the same name and grant and never enables", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 1, yield* expiry)
          yield* gateway.createUser(device, spec)
          yield* gateway.createUser(device, spec)
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.users.map((user) => [user.username, user.disabled]),
            [[spec.username, true]]
          )
          yield* gateway.enableUser(device, spec.username)
          yield* gateway.createUser(device, spec)
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.users.map((user) => [user.username, user.disabled]),
            [[spec.username, false]]
          )
          yield* cleanup(scope)
        })
      )
    )

    it.live("enableUser enables the user; enabling a missing user is NotFound", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 0, yield* expiry)
          yield* gateway.createUser(device, spec)
          yield* gateway.enableUser(device, spec.username)
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.users.map((user) => user.disabled),
            [false]
          )
          expectReason(yield* Effect.flip(gateway.enableUser(device, scope.username(9))), "NotFound", "enable of a missing user")
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.users.map((user) => user.username),
            [spec.username]
          )
          yield* cleanup(scope)
        })
      )
    )

    it.live("removeUser removes the user and is idempotent; a late enable finds nothing", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 0, yield* expiry)
          yield* gateway.createUser(device, spec)
          yield* gateway.removeUser(device, spec.username)
          assert.deepStrictEqual((yield* ownInventory(scope)).own.users, [])
          yield* gateway.removeUser(device, spec.username)
          yield* gateway.removeUser(device, scope.username(5))
          expectReason(yield* Effect.flip(gateway.enableUser(device, spec.username)), "NotFound", "enable after remove")
          assert.deepStrictEqual((yield* ownInventory(scope)).own.users, [])
        })
      )
    )

    it.live("a name held by another grant is Rejected and the holder is untouched", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 0, yield* expiry)
          yield* gateway.createUser(device, spec)
          const intruder: DeviceUserSpec = { ...spec, grantId: scope.grant(1) }
          expectReason(yield* Effect.flip(gateway.createUser(device, intruder)), "Rejected", "name of another grant")
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.users.map((user) => user.grantId),
            [spec.grantId]
          )
          yield* cleanup(scope)
        })
      )
    )

    it.live("invalid user names are Rejected and nothing is created", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const base = userSpec(scope, 0, yield* expiry)
          const token = base.username.slice(3)
          const invalid = [
            "admin",
            `ta-${token.toUpperCase()}`,
            "ta-abc",
            `ta-${"a".repeat(33)}`,
            `ta-${token} x`,
            `ta-${token};/system reset`,
            `ta-${token}"`,
            `TA-${token}`,
            `ta_${token}`,
            ""
          ]
          for (const username of invalid) {
            expectReason(
              yield* Effect.flip(gateway.createUser(device, { ...base, username })),
              "Rejected",
              `user name ${JSON.stringify(username)}`
            )
          }
          const { inventory } = yield* ownInventory(scope)
          assert.isFalse(
            inventory.users.some((user) => invalid.includes(user.username)),
            "an invalid name was created"
          )
          if (options.probe !== undefined) {
            const raw = yield* options.probe.usernames(device)
            assert.isFalse(
              raw.some((username) => invalid.includes(username)),
              "an invalid name reached the device"
            )
          }
        })
      )
    )

    it.live("the password never appears in inventory output", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const spec = userSpec(scope, 0, yield* expiry)
          yield* gateway.createUser(device, spec)
          yield* gateway.enableUser(device, spec.username)
          const inventory = yield* gateway.inventory(device)
          const secret = Redacted.value(spec.password)
          assert.notInclude(JSON.stringify(inventory), secret)
          assert.notInclude(inspect(inventory, { depth: 10 }), secret)
          assert.notInclude(String(spec.password), secret)
          yield* cleanup(scope)
        })
      )
    )

    it.live("forwards open disabled and idempotently, enable, list and close idempotently", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const forward = forwardSpec(scope, 0, yield* expiry)
          yield* gateway.openForward(device, forward)
          yield* gateway.openForward(device, forward)
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [{ ...forward, disabled: true }])
          yield* gateway.enableForward(device, forward.grantId)
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [{ ...forward, disabled: false }])
          yield* gateway.openForward(device, forward)
          assert.deepStrictEqual(
            (yield* ownInventory(scope)).own.forwards,
            [{ ...forward, disabled: false }],
            "a repeated open never disables an enabled forward"
          )
          yield* gateway.enableForward(device, forward.grantId)
          yield* gateway.closeForward(device, forward.grantId)
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [])
          yield* gateway.closeForward(device, forward.grantId)
          yield* gateway.closeForward(device, scope.grant(7))
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [])
        })
      )
    )

    it.live("enabling a missing or closed forward is NotFound and creates nothing", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const forward = forwardSpec(scope, 0, yield* expiry)
          expectReason(yield* Effect.flip(gateway.enableForward(device, scope.grant(9))), "NotFound", "enable of a missing forward")
          yield* gateway.openForward(device, forward)
          yield* gateway.closeForward(device, forward.grantId)
          expectReason(yield* Effect.flip(gateway.enableForward(device, forward.grantId)), "NotFound", "enable after close")
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [])
        })
      )
    )

    it.live("a forward on a listen port held by another grant is Rejected", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const forward = forwardSpec(scope, 0, yield* expiry)
          yield* gateway.openForward(device, forward)
          const other: DeviceForwardSpec = { ...forwardSpec(scope, 1, forward.expiresAt), listenPort: forward.listenPort }
          expectReason(yield* Effect.flip(gateway.openForward(device, other)), "Rejected", "occupied listen port")
          assert.deepStrictEqual((yield* ownInventory(scope)).own.forwards, [{ ...forward, disabled: true }])
          yield* cleanup(scope)
        })
      )
    )

    it.live("removing one grant's artifacts leaves other grants untouched", () =>
      run(
        Effect.gen(function* () {
          const gateway = yield* DeviceGateway
          const scope = makeScope()
          const expiresAt = yield* expiry
          const [first, second] = [userSpec(scope, 0, expiresAt), userSpec(scope, 1, expiresAt)]
          const [firstForward, secondForward] = [forwardSpec(scope, 2, expiresAt), forwardSpec(scope, 3, expiresAt)]
          yield* gateway.createUser(device, first)
          yield* gateway.createUser(device, second)
          yield* gateway.enableUser(device, second.username)
          yield* gateway.openForward(device, firstForward)
          yield* gateway.openForward(device, secondForward)
          yield* gateway.enableForward(device, secondForward.grantId)
          const before = (yield* ownInventory(scope)).own
          yield* gateway.removeUser(device, first.username)
          yield* gateway.closeForward(device, firstForward.grantId)
          const after = (yield* ownInventory(scope)).own
          assert.deepStrictEqual(
            after.users,
            before.users.filter((user) => user.username !== first.username)
          )
          assert.deepStrictEqual(
            after.forwards,
            before.forwards.filter((forward) => forward.grantId !== firstForward.grantId)
          )
          assert.deepStrictEqual(
            after.users.map((user) => [user.username, user.disabled]),
            [[second.username, false]]
          )
          assert.deepStrictEqual(
            after.forwards.map((forward) => [forward.grantId, forward.disabled]),
            [[secondForward.grantId, false]]
          )
          yield* cleanup(scope)
        })
      )
    )
  })
}
