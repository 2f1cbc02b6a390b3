/**
 * The small menu-level contract both push transports implement (API over node-routeros,
 * CLI over SSH): list, add, update and remove items selected by one field, and log out a
 * user's sessions. The gateway logic (`menuGateway.ts`) is written once against it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { quote } from "../RosScript.ts"
import { parseDateTime } from "./rosTime.ts"
import { TargetError } from "@transient-access/core"

type DeviceGatewayError = TargetError.DeviceGatewayError
type TargetErrorReason = TargetError.TargetErrorReason

/**
 * Selects items whose `field` equals `value` (`eq`) or starts with it (`prefix`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Selector {
  readonly field: string
  readonly value: string
  readonly match: "eq" | "prefix"
}

/**
 * A menu path such as `["user"]`, `["ip", "firewall", "nat"]`.
 *
 * @category models
 * @since 0.1.0
 */
export type Menu = ReadonlyArray<string>

/**
 * The transport contract.
 *
 * @category models
 * @since 0.1.0
 */
export interface MenuClient {
  /** Items matching the selector, with at least `fields`. */
  readonly list: (
    menu: Menu,
    where: Selector,
    fields: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Record<string, string>>, DeviceGatewayError>
  readonly add: (menu: Menu, attrs: Readonly<Record<string, string>>) => Effect.Effect<void, DeviceGatewayError>
  /** Sets `attrs` on every matching item; no match is success. */
  readonly update: (menu: Menu, where: Selector, attrs: Readonly<Record<string, string>>) => Effect.Effect<void, DeviceGatewayError>
  /** Removes every matching item; no match (and "no such item") is success. */
  readonly remove: (menu: Menu, where: Selector) => Effect.Effect<void, DeviceGatewayError>
  /** `/user/active/request-logout` for every session of `name`. */
  readonly logout: (name: string) => Effect.Effect<void, DeviceGatewayError>
  /** The device clock as epoch ms (UTC) and whether it prints ISO dates. */
  readonly clock: Effect.Effect<{ readonly now: number; readonly iso: boolean }, DeviceGatewayError>
}

/**
 * Selects by equality.
 *
 * @category constructors
 * @since 0.1.0
 */
export const eq = (field: string, value: string): Selector => ({ field, value, match: "eq" })

/**
 * Selects by prefix.
 *
 * @category constructors
 * @since 0.1.0
 */
export const prefix = (field: string, value: string): Selector => ({ field, value, match: "prefix" })

/**
 * Whether a row matches a selector.
 *
 * @category guards
 * @since 0.1.0
 */
export const selects = (row: Readonly<Record<string, string>>, where: Selector): boolean => {
  const value = row[where.field]
  return value !== undefined && (where.match === "eq" ? value === where.value : value.startsWith(where.value))
}

/**
 * Maps a RouterOS error text to a target-error reason (texts from notes §3.8).
 *
 * @category constructors
 * @since 0.1.0
 */
export const reasonOfMessage = (message: string): TargetErrorReason => {
  if (/no such item/i.test(message)) return "NotFound"
  if (/invalid user name or password|cannot log in|CANTLOGIN/i.test(message)) return "Rejected"
  if (
    /already (have|exis)|no such command|input does not match|unknown parameter|not enough permissions|invalid|failure:|missing value|syntax error/i.test(
      message
    )
  ) {
    return "Rejected"
  }
  return "Unknown"
}

/**
 * Builds a device error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const deviceError = (reason: TargetErrorReason, target: string, message: string, cause?: unknown): DeviceGatewayError =>
  new TargetError.DeviceGatewayError({ reason, target, message, ...(cause !== undefined ? { cause } : {}) })

/**
 * The same error with every occurrence of `secret` in its message replaced by `[redacted]`
 * and its cause dropped (a transport's raw error may quote the device's output, which may
 * echo the command that carried the secret).
 */
export const withoutSecret =
  (secret: string) =>
  (error: DeviceGatewayError): DeviceGatewayError =>
    secret === ""
      ? error
      : new TargetError.DeviceGatewayError({
          reason: error.reason,
          target: error.target,
          // the secret as sent and as RouterOS script quoting renders it
          message: [secret, quote(secret).slice(1, -1)].reduce((text, form) => text.split(form).join("[redacted]"), error.message)
        })

/**
 * Reads the device clock from a `/system/clock` print row (`date`, `time`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const clockOfRow = (
  target: string,
  row: Readonly<Record<string, string>> | undefined
): Effect.Effect<{ readonly now: number; readonly iso: boolean }, DeviceGatewayError> => {
  const date = row?.date ?? ""
  const now = parseDateTime(date, row?.time ?? "")
  return now === undefined
    ? Effect.fail(deviceError("Unknown", target, `unreadable device clock ${date} ${row?.time ?? ""}`))
    : Effect.succeed({ now, iso: /^\d{4}-/.test(date) })
}
