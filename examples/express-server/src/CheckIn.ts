/**
 * Pull-mode device endpoints. A device in `pull` mode runs a scheduler entry that calls
 * `POST /device/{deviceId}/checkin?applied=<last applied sequence>` with its per-device token
 * (`Authorization: Bearer <token>`); the answer is the RouterOS script of the commands it has
 * not applied yet (text/plain). The script itself comes from the RouterOS adapter; this module
 * is only the HTTP edge.
 *
 * @since 0.1.0
 */
import express, { type Router } from "express"
import { HttpProblem } from "./Problem.ts"

/**
 * The device side of pull mode, as the RouterOS adapter provides it.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckIn {
  /**
   * Authenticates `token` for `deviceId`, records `applied` (the highest command sequence the
   * device applied, or null), and returns the script to run next. Rejects with a tagged
   * `Unauthorized` / `DeviceNotFound` error.
   */
  readonly checkIn: (input: { readonly deviceId: string; readonly token: string; readonly applied: number | null }) => Promise<string>
  /** The one-time bootstrap script that installs the check-in scheduler on a device. */
  readonly bootstrap: (input: { readonly deviceId: string; readonly baseUrl: string }) => Promise<string>
}

/**
 * The `/device` router.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeCheckInRouter = (checkIn: CheckIn): Router => {
  const router = express.Router()
  router.post("/:deviceId/checkin", async (request, response) => {
    const deviceId = request.params["deviceId"] ?? ""
    const header = request.get("authorization") ?? ""
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(deviceId)) throw new HttpProblem("DeviceNotFound", "no such device")
    if (!header.startsWith("Bearer ") || header.length > 200) throw new HttpProblem("Unauthorized", "send the device token as a Bearer token")
    const appliedText = typeof request.query["applied"] === "string" ? request.query["applied"] : ""
    if (appliedText !== "" && !/^\d{1,15}$/.test(appliedText)) throw new HttpProblem("InvalidRequest", "applied must be a sequence number", "applied")
    const script = await checkIn.checkIn({ deviceId, token: header.slice(7), applied: appliedText === "" ? null : Number(appliedText) })
    response.type("text/plain").send(script)
  })
  return router
}
