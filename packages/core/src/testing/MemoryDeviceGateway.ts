/**
 * The in-memory device gateway: the embedded default's stand-in for a RouterOS device, and
 * the substrate of the model-based tests.
 *
 * It keeps real state per device — users by name (grant id from the comment tag, password,
 * permission, allowed address, disabled flag, expiry), forwards by grant id, live sessions —
 * and enforces the same rules as the RouterOS adapter:
 * - **the fence**: `createUser` always creates the user **disabled** and never enables it;
 *   it is idempotent for the same name and grant; `enableUser` of an absent user is
 *   `NotFound`, so a late enable after a remove finds nothing. Forwards likewise:
 *   `openForward` creates them disabled (a repeat keeps the flag), `enableForward` of an
 *   absent forward is `NotFound`;
 * - `Rejected` (and nothing changed) for names not matching `^ta-[a-z0-9]{4,32}$`, a name
 *   held by another grant, a forward port held by another grant, or malformed input
 *   (non-canonical addresses, ports out of range);
 * - `removeUser` / `closeForward` are idempotent; removing a user ends its sessions;
 * - **device-side expiry** (the RouterOS scheduler entry): at or after `expiresAt` a user or
 *   forward is gone. It is evaluated lazily on every operation and probe, so it holds while
 *   the device is offline and no SDK process runs.
 *
 * `MemoryDeviceGatewayControl` models logins (`login` / `sessionAlive`) and injects faults
 * (`setOffline`, `failNext`). Offline means the control channel is down: the device keeps
 * accepting logins and expiring users. Time comes from Effect's `Clock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Cidr from "../Cidr.ts"
import { DeviceForwardSpec, DeviceGateway } from "../DeviceGateway.ts"
import type { DeviceForward, DeviceInventory, DeviceUserSpec } from "../DeviceGateway.ts"
import { Permission } from "../Grant.ts"
import { GrantId } from "../Ids.ts"
import type { DeviceId } from "../Ids.ts"
import { DeviceGatewayError } from "../TargetError.ts"
import type { TargetErrorReason } from "../TargetError.ts"
import type { Device } from "../Topology.ts"
import { makeBoundedHistory } from "../internal/boundedHistory.ts"

/**
 * A transient user as the device holds it (the control service's raw view).
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceUserRecord {
  readonly username: string
  readonly grantId: GrantId
  readonly password: Redacted.Redacted<string>
  readonly permission: Permission
  readonly allowedAddress: string
  readonly disabled: boolean
  readonly expiresAt: number
}

/**
 * One applied change, as the control service records it. `expire` entries are the
 * device-side expiry firing (stamped with the expiry time).
 *
 * @category models
 * @since 0.1.0
 */
export interface DeviceChange {
  readonly op:
    | "user.create"
    | "user.enable"
    | "user.remove"
    | "user.expire"
    | "forward.open"
    | "forward.enable"
    | "forward.close"
    | "forward.expire"
  readonly deviceId: DeviceId
  /** The user name for user changes, `null` for forwards. */
  readonly username: string | null
  readonly grantId: GrantId | null
  readonly at: number
  /** Whether the change altered the device (false for an idempotent repeat). */
  readonly changed: boolean
}

/**
 * The outcome of a login attempt.
 *
 * @category models
 * @since 0.1.0
 */
export type LoginResult =
  | { readonly accepted: true; readonly sessionId: string }
  | { readonly accepted: false; readonly reason: "NoSuchUser" | "Disabled" | "BadPassword" | "AddressNotAllowed" }

/**
 * Options of an injected failure.
 *
 * @category models
 * @since 0.1.0
 */
export interface FailOptions {
  /** Apply the operation first, then report the failure (a lost reply). Default false. */
  readonly afterApply?: boolean
}

/**
 * Login model and fault injection for the in-memory device gateway.
 *
 * @category services
 * @since 0.1.0
 */
export class MemoryDeviceGatewayControl extends Context.Service<
  MemoryDeviceGatewayControl,
  {
    /** While offline, every gateway operation on the device fails `Unreachable`. */
    readonly setOffline: (deviceId: DeviceId, offline: boolean) => Effect.Effect<void>
    /** The next `count` gateway operations on the device fail with `reason`. */
    readonly failNext: (deviceId: DeviceId, count: number, reason: TargetErrorReason, options?: FailOptions) => Effect.Effect<void>
    /**
     * A login to the device: accepted when the user exists, is enabled and not expired, the
     * password matches and `fromAddress` is its allowed address; then a session is open.
     */
    readonly login: (
      deviceId: DeviceId,
      username: string,
      password: Redacted.Redacted<string> | string,
      fromAddress: string
    ) => Effect.Effect<LoginResult>
    /** Whether a session is still open (its user was neither removed nor expired). */
    readonly sessionAlive: (sessionId: string) => Effect.Effect<boolean>
    /**
     * Every applied create, enable, remove and expiry, in the order the device applied them
     * (an expiry is applied lazily at the next operation or probe, stamped with its due time).
     */
    readonly history: Effect.Effect<ReadonlyArray<DeviceChange>>
    /** The device's users as it holds them, expired ones removed (ignores offline and failures). */
    readonly users: (deviceId: DeviceId) => Effect.Effect<ReadonlyArray<DeviceUserRecord>>
    /** The device's forwards with their `disabled` flag, expired ones removed (ignores offline and failures). */
    readonly forwards: (deviceId: DeviceId) => Effect.Effect<ReadonlyArray<DeviceForward>>
  }
>()("@transient-access/core/MemoryDeviceGatewayControl") {}

interface UserEntry {
  record: DeviceUserRecord
}

interface DeviceState {
  readonly users: Map<string, UserEntry>
  readonly forwards: Map<GrantId, DeviceForward>
  offline: boolean
  failures: Array<{ readonly reason: TargetErrorReason; readonly afterApply: boolean }>
}

interface Session {
  readonly deviceId: DeviceId
  readonly entry: UserEntry
  ended: boolean
}

const usernamePattern = /^ta-[a-z0-9]{4,32}$/

const decodeForward = Schema.decodeUnknownExit(DeviceForwardSpec)
const isGrantId = Schema.is(GrantId)
const isPermission = Schema.is(Permission)

const isCanonicalAddress = (address: string): boolean => Cidr.canonicalAddress(address) === address

/** Why a user spec is invalid, or undefined when it is acceptable. */
const invalidUser = (spec: DeviceUserSpec): string | undefined => {
  if (typeof spec.username !== "string" || !usernamePattern.test(spec.username)) {
    return `user name ${JSON.stringify(spec.username)} does not match ${usernamePattern.source}`
  }
  if (!isGrantId(spec.grantId)) return `grant id ${JSON.stringify(spec.grantId)} is malformed`
  if (!isPermission(spec.permission)) return `permission ${JSON.stringify(spec.permission)} is unknown`
  if (!Redacted.isRedacted(spec.password)) return "password must be Redacted"
  const password: unknown = Redacted.value(spec.password)
  if (typeof password !== "string" || password.length === 0) return "password must be a non-empty string"
  if (!isCanonicalAddress(spec.allowedAddress)) {
    return `allowed address ${JSON.stringify(spec.allowedAddress)} is not a canonical address`
  }
  if (!Number.isInteger(spec.expiresAt) || spec.expiresAt < 0) return `expiresAt ${spec.expiresAt} is not a timestamp`
  return undefined
}

/** Why a forward is invalid, or undefined when it is acceptable. */
const invalidForward = (forward: DeviceForwardSpec): string | undefined => {
  const decoded = decodeForward(forward)
  if (Exit.isFailure(decoded)) {
    const error = Exit.findErrorOption(decoded)
    return `malformed forward: ${error._tag === "Some" ? error.value.message : "invalid"}`
  }
  if (!isCanonicalAddress(forward.to.address)) return `forward target ${JSON.stringify(forward.to.address)} is not canonical`
  if (!isCanonicalAddress(forward.allowedAddress)) {
    return `allowed address ${JSON.stringify(forward.allowedAddress)} is not a canonical address`
  }
  return undefined
}

const sameForward = (left: DeviceForwardSpec, right: DeviceForwardSpec): boolean =>
  left.listenPort === right.listenPort &&
  left.to.address === right.to.address &&
  left.to.port === right.to.port &&
  left.allowedAddress === right.allowedAddress &&
  left.expiresAt === right.expiresAt

const copyForward = (forward: DeviceForward): DeviceForward => ({ ...forward, to: { ...forward.to } })

/** Only the spec's own fields (a caller may pass an object carrying more). */
const decodedSpec = (forward: DeviceForwardSpec): DeviceForwardSpec => ({
  grantId: forward.grantId,
  listenPort: forward.listenPort,
  to: { address: forward.to.address, port: forward.to.port },
  allowedAddress: forward.allowedAddress,
  expiresAt: forward.expiresAt
})

/**
 * Options of the in-memory gateway.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How many `history` entries to keep, oldest dropped first (default 100,000). */
  readonly historyLimit?: number
}

/**
 * Builds an in-memory device gateway and its control, sharing one state.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: Options = {}
): Effect.Effect<{
  readonly gateway: DeviceGateway["Service"]
  readonly control: MemoryDeviceGatewayControl["Service"]
}> =>
  Effect.sync(() => {
    const devices = new Map<DeviceId, DeviceState>()
    const sessions = new Map<string, Session>()
    const history = makeBoundedHistory<DeviceChange>(options.historyLimit)
    const remember = history.remember
    let sessionCounter = 0

    const stateOf = (deviceId: DeviceId): DeviceState => {
      const existing = devices.get(deviceId)
      if (existing !== undefined) return existing
      const created: DeviceState = { users: new Map(), forwards: new Map(), offline: false, failures: [] }
      devices.set(deviceId, created)
      return created
    }

    const record = (
      op: DeviceChange["op"],
      deviceId: DeviceId,
      username: string | null,
      grantId: GrantId | null,
      at: number,
      changed = true
    ): void => {
      remember({ op, deviceId, username, grantId, at, changed })
    }

    const endSessions = (entry: UserEntry): void => {
      for (const session of sessions.values()) if (session.entry === entry) session.ended = true
    }

    /** The device-side expiry: removes users and forwards whose time has come. */
    const expire = (deviceId: DeviceId, state: DeviceState, now: number): void => {
      for (const [username, entry] of state.users) {
        if (now >= entry.record.expiresAt) {
          state.users.delete(username)
          endSessions(entry)
          record("user.expire", deviceId, username, entry.record.grantId, entry.record.expiresAt)
        }
      }
      for (const [grantId, forward] of state.forwards) {
        if (now >= forward.expiresAt) {
          state.forwards.delete(grantId)
          record("forward.expire", deviceId, null, grantId, forward.expiresAt)
        }
      }
    }

    const fail = (device: Device, reason: TargetErrorReason, message: string) =>
      new DeviceGatewayError({ reason, message, target: `device:${device.id}` })

    /**
     * Runs one gateway operation atomically at the current `Clock` time: offline and
     * injected failures first, then the device-side expiry, then `apply`.
     */
    const operate = <A>(
      device: Device,
      apply: (state: DeviceState, now: number) => Result.Result<A, DeviceGatewayError>
    ): Effect.Effect<A, DeviceGatewayError> =>
      Clock.clockWith((clock) =>
        Effect.suspend(() => {
          const state = stateOf(device.id)
          const now = clock.currentTimeMillisUnsafe()
          expire(device.id, state, now)
          if (state.offline) return Effect.fail(fail(device, "Unreachable", "device is offline"))
          const injected = state.failures.shift()
          if (injected !== undefined && !injected.afterApply) {
            return Effect.fail(fail(device, injected.reason, `injected ${injected.reason}`))
          }
          const result = apply(state, now)
          if (Result.isFailure(result)) return Effect.fail(result.failure)
          expire(device.id, state, now)
          if (injected !== undefined) {
            return Effect.fail(fail(device, injected.reason, `injected ${injected.reason} after the change was applied`))
          }
          return Effect.succeed(result.success)
        })
      )

    const createUser = Effect.fn("MemoryDeviceGateway.createUser")(function* (device: Device, spec: DeviceUserSpec) {
      return yield* operate(device, (state, now) => {
        const invalid = invalidUser(spec)
        if (invalid !== undefined) return Result.fail(fail(device, "Rejected", invalid))
        const existing = state.users.get(spec.username)
        if (existing !== undefined) {
          if (existing.record.grantId !== spec.grantId) {
            return Result.fail(fail(device, "Rejected", `user ${spec.username} belongs to another grant`))
          }
          record("user.create", device.id, spec.username, spec.grantId, now, false)
          return Result.succeed(undefined)
        }
        state.users.set(spec.username, {
          record: {
            username: spec.username,
            grantId: spec.grantId,
            password: spec.password,
            permission: spec.permission,
            allowedAddress: spec.allowedAddress,
            disabled: true,
            expiresAt: spec.expiresAt
          }
        })
        record("user.create", device.id, spec.username, spec.grantId, now)
        return Result.succeed(undefined)
      })
    })

    const enableUser = Effect.fn("MemoryDeviceGateway.enableUser")(function* (device: Device, username: string) {
      return yield* operate(device, (state, now) => {
        const entry = state.users.get(username)
        if (entry === undefined) return Result.fail(fail(device, "NotFound", `no user ${JSON.stringify(username)}`))
        record("user.enable", device.id, username, entry.record.grantId, now, entry.record.disabled)
        entry.record = { ...entry.record, disabled: false }
        return Result.succeed(undefined)
      })
    })

    const removeUser = Effect.fn("MemoryDeviceGateway.removeUser")(function* (device: Device, username: string) {
      return yield* operate(device, (state, now) => {
        const entry = state.users.get(username)
        if (entry !== undefined) {
          state.users.delete(username)
          endSessions(entry)
        }
        record("user.remove", device.id, username, entry?.record.grantId ?? null, now, entry !== undefined)
        return Result.succeed(undefined)
      })
    })

    const openForward = Effect.fn("MemoryDeviceGateway.openForward")(function* (device: Device, forward: DeviceForwardSpec) {
      return yield* operate(device, (state, now) => {
        const invalid = invalidForward(forward)
        if (invalid !== undefined) return Result.fail(fail(device, "Rejected", invalid))
        for (const [grantId, other] of state.forwards) {
          if (grantId !== forward.grantId && other.listenPort === forward.listenPort) {
            return Result.fail(fail(device, "Rejected", `listen port ${forward.listenPort} is held by grant ${grantId}`))
          }
        }
        const existing = state.forwards.get(forward.grantId)
        const changed = existing === undefined || !sameForward(existing, forward)
        const disabled = existing === undefined || existing.disabled
        state.forwards.set(forward.grantId, { ...decodedSpec(forward), disabled })
        record("forward.open", device.id, null, forward.grantId, now, changed)
        return Result.succeed(undefined)
      })
    })

    const enableForward = Effect.fn("MemoryDeviceGateway.enableForward")(function* (device: Device, grantId: GrantId) {
      return yield* operate(device, (state, now) => {
        const existing = state.forwards.get(grantId)
        if (existing === undefined) return Result.fail(fail(device, "NotFound", `no forward for grant ${JSON.stringify(grantId)}`))
        record("forward.enable", device.id, null, grantId, now, existing.disabled)
        state.forwards.set(grantId, { ...existing, disabled: false })
        return Result.succeed(undefined)
      })
    })

    const closeForward = Effect.fn("MemoryDeviceGateway.closeForward")(function* (device: Device, grantId: GrantId) {
      return yield* operate(device, (state, now) => {
        const existed = state.forwards.delete(grantId)
        record("forward.close", device.id, null, grantId, now, existed)
        return Result.succeed(undefined)
      })
    })

    const usersOf = (state: DeviceState): ReadonlyArray<DeviceUserRecord> =>
      [...state.users.values()].map((entry) => entry.record).sort((left, right) => left.username.localeCompare(right.username))

    const forwardsOf = (state: DeviceState): ReadonlyArray<DeviceForward> =>
      [...state.forwards.values()].map(copyForward).sort((left, right) => left.listenPort - right.listenPort)

    const inventory = Effect.fn("MemoryDeviceGateway.inventory")(function* (device: Device) {
      return yield* operate(
        device,
        (state): Result.Result<DeviceInventory, never> =>
          Result.succeed({
            users: usersOf(state).map((user) => ({
              username: user.username,
              grantId: user.grantId,
              disabled: user.disabled,
              permission: user.permission
            })),
            forwards: forwardsOf(state)
          })
      )
    })

    const gateway = DeviceGateway.of({ createUser, enableUser, removeUser, openForward, enableForward, closeForward, inventory })

    /** Runs a probe at the current time, after the device-side expiry. */
    const probe = <A>(deviceId: DeviceId, f: (state: DeviceState, now: number) => A): Effect.Effect<A> =>
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const state = stateOf(deviceId)
          const now = clock.currentTimeMillisUnsafe()
          expire(deviceId, state, now)
          return f(state, now)
        })
      )

    const login = (
      deviceId: DeviceId,
      username: string,
      password: Redacted.Redacted<string> | string,
      fromAddress: string
    ): Effect.Effect<LoginResult> =>
      probe(deviceId, (state): LoginResult => {
        const entry = state.users.get(username)
        if (entry === undefined) return { accepted: false, reason: "NoSuchUser" }
        if (entry.record.disabled) return { accepted: false, reason: "Disabled" }
        const given = Redacted.isRedacted(password) ? Redacted.value(password) : password
        if (given !== Redacted.value(entry.record.password)) return { accepted: false, reason: "BadPassword" }
        if (Cidr.canonicalAddress(fromAddress) !== entry.record.allowedAddress) {
          return { accepted: false, reason: "AddressNotAllowed" }
        }
        sessionCounter += 1
        const sessionId = `session-${sessionCounter}`
        sessions.set(sessionId, { deviceId, entry, ended: false })
        return { accepted: true, sessionId }
      })

    const sessionAlive = (sessionId: string): Effect.Effect<boolean> =>
      Effect.suspend(() => {
        const session = sessions.get(sessionId)
        if (session === undefined) return Effect.succeed(false)
        return probe(session.deviceId, () => !session.ended)
      })

    const control = MemoryDeviceGatewayControl.of({
      setOffline: (deviceId, offline) =>
        Effect.sync(() => {
          stateOf(deviceId).offline = offline
        }),
      failNext: (deviceId, count, reason, options) =>
        Effect.sync(() => {
          const afterApply = options?.afterApply ?? false
          for (let index = 0; index < count; index++) stateOf(deviceId).failures.push({ reason, afterApply })
        }),
      login,
      sessionAlive,
      history: Effect.sync(history.entries),
      users: (deviceId) => probe(deviceId, usersOf),
      forwards: (deviceId) => probe(deviceId, forwardsOf)
    })

    return { gateway, control }
  })

/**
 * The in-memory device gateway as a layer: `DeviceGateway` and its
 * `MemoryDeviceGatewayControl`, sharing one state. Each build of the layer (each
 * `Effect.provide`, or one memoized build shared by a layer graph) starts empty.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<DeviceGateway | MemoryDeviceGatewayControl> = Layer.effectContext(
  Effect.map(make(), ({ control, gateway }) => Context.make(DeviceGateway, gateway).pipe(Context.add(MemoryDeviceGatewayControl, control)))
)
