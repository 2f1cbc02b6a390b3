/**
 * Pull-mode device edge over the RouterOS adapter's `PullChannel`.
 *
 * - `POST /device/{deviceId}/checkin`: a device in `pull` mode runs a scheduler entry that
 *   posts its report (the last sequence number it applied and the state it sees) with its
 *   per-device token (`Authorization: Bearer <token>`); the answer is the RouterOS script of
 *   the commands it has not applied yet (`text/plain`).
 * - `bootstrap(deviceId)` (served as `POST /api/devices/{id}/bootstrap`, admins only):
 *   issues a new token for the device (the previous one stops working) and returns the
 *   script an operator pastes once on the router.
 *
 * Rendering, token checks and the sequence fence live in the adapter; this module only
 * parses HTTP and maps the channel's refusals to problems.
 *
 * @since 0.1.0
 */
import type { PullChannel } from "@transient-access/adapter-routeros"
import { Ids, type Topology } from "@transient-access/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import express, { type Router } from "express"
import { HttpProblem } from "./Problem.ts"

/**
 * The pull-mode side of the server.
 *
 * @category models
 * @since 0.1.0
 */
export interface PullDevices {
  /**
   * Handles one check-in and resolves to the script to return. Rejects with an
   * `HttpProblem` (`Unauthorized` for an unknown device or a bad token, `InvalidRequest`
   * for an unreadable report, `StoreError` (503) when the store cannot be reached).
   */
  readonly checkIn: (input: {
    readonly deviceId: string
    readonly authorization: string | undefined
    readonly body: string
  }) => Promise<string>
  /**
   * Rotates the device's token and resolves to its bootstrap script. Rejects with
   * `DeviceNotFound` or `NotPullDevice`.
   */
  readonly bootstrap: (deviceId: string, options?: { readonly revokePrevious?: boolean }) => Promise<string>
}

/**
 * The pull edge over a channel. `checkInUrl` is the URL the device posts to (it is written
 * into the bootstrap script, with the token).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makePullDevices = (options: {
  readonly channel: PullChannel.PullChannel["Service"]
  readonly devices: ReadonlyArray<Topology.Device>
  readonly checkInUrl: (deviceId: string) => string
  readonly intervalSeconds: number
}): PullDevices => {
  const pullIds = new Set(options.devices.filter((device) => device.mode === "pull").map((device) => device.id as string))
  const known = new Set(options.devices.map((device) => device.id as string))
  return {
    checkIn: async ({ deviceId, authorization, body }) => {
      if (!pullIds.has(deviceId)) throw new HttpProblem("Unauthorized", "unknown device or bad token")
      const exit = await Effect.runPromiseExit(options.channel.checkIn(deviceId as Ids.DeviceId, { authorization, body }))
      if (Exit.isSuccess(exit)) return exit.value
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isSome(error) && error.value.reason === "BadReport") throw new HttpProblem("InvalidRequest", "unreadable check-in report")
      if (Option.isSome(error) && error.value.reason === "UnknownSequence") {
        throw new HttpProblem("InvalidRequest", "the report claims a sequence that was never issued")
      }
      if (Option.isSome(error) && error.value.reason === "Unavailable")
        throw new HttpProblem("StoreError", "the store is unavailable; check in again later")
      throw new HttpProblem("Unauthorized", "unknown device or bad token")
    },
    bootstrap: async (deviceId, bootstrapOptions = {}) => {
      if (!known.has(deviceId)) throw new HttpProblem("DeviceNotFound", `no device ${deviceId}`)
      if (!pullIds.has(deviceId)) throw new HttpProblem("NotPullDevice", `device ${deviceId} is a push-mode device: it needs no bootstrap`)
      const id = deviceId as Ids.DeviceId
      return Effect.runPromise(
        Effect.gen(function* () {
          const token = yield* options.channel.registerDevice(id, { revokePrevious: bootstrapOptions.revokePrevious === true })
          return yield* options.channel.bootstrap(id, {
            url: options.checkInUrl(deviceId),
            token,
            intervalSeconds: options.intervalSeconds
          })
        })
      )
    }
  }
}

/**
 * The `/device` router (check-ins).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeCheckInRouter = (pull: PullDevices): Router => {
  const router = express.Router()
  router.post("/:deviceId/checkin", express.text({ type: () => true, limit: "64kb" }), async (request, response) => {
    const deviceId = request.params["deviceId"] ?? ""
    if (!Ids.isId(deviceId)) throw new HttpProblem("Unauthorized", "unknown device or bad token")
    const body: unknown = request.body
    const script = await pull.checkIn({
      deviceId,
      authorization: request.get("authorization"),
      body: typeof body === "string" ? body : ""
    })
    response.type("text/plain").send(script)
  })
  return router
}
