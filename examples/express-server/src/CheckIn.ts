/**
 * Pull-mode device endpoint: the HTTP edge of the RouterOS adapter's `PullChannel`. A device
 * in `pull` mode runs a scheduler entry that posts its report (the sequence numbers it
 * applied and the state it sees) to `POST /device/{deviceId}/checkin` with its per-device
 * token (`Authorization: Bearer <token>`); the answer is the RouterOS script of the commands
 * it has not applied yet (`text/plain`). Rendering, token checks and the sequence fence live
 * in the adapter; this module only parses HTTP.
 *
 * @since 0.1.0
 */
import express, { type Router } from "express"
import { HttpProblem } from "./Problem.ts"

/**
 * The device side of pull mode, shaped like the RouterOS adapter's `PullChannel.checkIn`.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckIn {
  /**
   * Handles one check-in and resolves to the script to return. Rejects with an
   * `HttpProblem` (`Unauthorized` for a bad token, `InvalidRequest` for a bad report,
   * `DeviceNotFound`).
   */
  readonly checkIn: (input: { readonly deviceId: string; readonly authorization: string | undefined; readonly body: string }) => Promise<string>
}

/**
 * The `/device` router.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeCheckInRouter = (checkIn: CheckIn): Router => {
  const router = express.Router()
  router.post("/:deviceId/checkin", express.text({ type: () => true, limit: "64kb" }), async (request, response) => {
    const deviceId = request.params["deviceId"] ?? ""
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(deviceId)) throw new HttpProblem("DeviceNotFound", "no such device")
    const body: unknown = request.body
    const script = await checkIn.checkIn({
      deviceId,
      authorization: request.get("authorization"),
      body: typeof body === "string" ? body : ""
    })
    response.type("text/plain").send(script)
  })
  return router
}
