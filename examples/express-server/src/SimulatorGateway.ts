/**
 * A `DeviceGateway` for the demo that drives in-process RouterOS simulators directly through
 * their menu commands (the same words the RouterOS API carries), keyed by device id. It is a
 * stand-in used while the RouterOS adapter's push gateway is not available; it creates users
 * disabled, enables by name, removes idempotently and lists tagged users, as the port's
 * contract asks. Port forwards are not supported (the demo grants `access` only).
 *
 * @since 0.1.0
 */
import { DeviceGateway, Grant, TargetError, type Topology } from "@transient-access/core"
import type { Simulator } from "@transient-access/adapter-routeros/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

type Simulators = ReadonlyMap<string, Simulator.Simulator>

const system = { user: "system", policies: new Set(["read", "write", "policy", "api", "ssh", "sensitive", "local", "reboot", "test", "ftp", "winbox", "password", "web", "sniff", "romon", "rest-api"]) }

const failure = (device: Topology.Device, reason: TargetError.TargetErrorReason, message: string, cause?: unknown) =>
  new TargetError.DeviceGatewayError({ reason, message, target: `device:${device.id}`, cause })

const groupOf = (permission: Grant.Permission) => (permission === "full" ? "full" : "read")

/**
 * Builds the gateway over running simulators.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (simulators: Simulators): Layer.Layer<DeviceGateway.DeviceGateway> => {
  const run = (device: Topology.Device, path: ReadonlyArray<string>, verb: string, attrs: Record<string, string> = {}) =>
    Effect.tryPromise({
      try: () => {
        const simulator = simulators.get(device.id)
        if (simulator === undefined) throw new Error("no simulator for this device")
        return simulator.state.execute(path, verb, new Map(Object.entries(attrs)), system)
      },
      catch: (cause) => failure(device, "Unknown", `${path.join("/")} ${verb} failed`, cause)
    })
  const findUser = (device: Topology.Device, username: string) =>
    run(device, ["user"], "print").pipe(Effect.map((result) => (result.rows ?? []).find((row) => row["name"] === username)))

  return Layer.succeed(DeviceGateway.DeviceGateway, {
    createUser: (device, spec) =>
      Effect.gen(function*() {
        if ((yield* findUser(device, spec.username)) !== undefined) return
        yield* run(device, ["user"], "add", {
          name: spec.username,
          password: Redacted.value(spec.password),
          group: groupOf(spec.permission),
          address: spec.allowedAddress,
          comment: Grant.artifactTag(spec.grantId),
          disabled: "true"
        })
      }),
    enableUser: (device, username) =>
      Effect.gen(function*() {
        const user = yield* findUser(device, username)
        if (user === undefined) return yield* failure(device, "NotFound", `no user ${username}`)
        yield* run(device, ["user"], "set", { ".id": user[".id"] ?? username, disabled: "false" })
      }),
    removeUser: (device, username) =>
      Effect.gen(function*() {
        const user = yield* findUser(device, username)
        if (user === undefined) return
        const sessions = (yield* run(device, ["user", "active"], "print")).rows ?? []
        yield* run(device, ["user"], "remove", { ".id": user[".id"] ?? username })
        for (const session of sessions.filter((row) => row["name"] === username)) {
          yield* run(device, ["user", "active"], "request-logout", { ".id": session[".id"] ?? "" }).pipe(Effect.ignore)
        }
      }),
    openForward: (device) => Effect.fail(failure(device, "Rejected", "port forwards are not supported by the demo gateway")),
    closeForward: () => Effect.void,
    inventory: (device) =>
      run(device, ["user"], "print").pipe(
        Effect.map((result) => ({
          users: (result.rows ?? []).flatMap((row) => {
            const grantId = Grant.parseArtifactTag(row["comment"] ?? "")
            if (grantId === undefined) return []
            const group = row["group"]
            return [{
              username: row["name"] ?? "",
              grantId,
              disabled: row["disabled"] === "true",
              permission: group === "full" ? "full" as const : group === "read" ? "read-only" as const : null
            }]
          }),
          forwards: []
        }))
      )
  })
}
