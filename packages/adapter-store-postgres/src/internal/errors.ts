/**
 * Classification of `pg` / PGlite / kysely failures into the port's `StoreError` reasons.
 *
 * - connection refused, reset or terminated, the server shutting down or not accepting
 *   connections, SQLSTATE class 08 and 57P01-57P03, too many connections → `Unavailable`;
 * - statement timeout / query cancelled (57014), `pg` query timeouts and pool acquisition
 *   timeouts → `Timeout`;
 * - anything else → `Unknown`.
 *
 * Messages carry the SQLSTATE and the driver's message, never parameters (so no secret can
 * leak through an error).
 *
 * @since 0.1.0
 */
import { GrantStore } from "@transient-access/core"

interface DriverErrorFields {
  readonly code?: unknown
  readonly constraint?: unknown
  readonly message?: unknown
}

const fields = (cause: unknown): DriverErrorFields => (typeof cause === "object" && cause !== null ? (cause as DriverErrorFields) : {})

/** The SQLSTATE or Node error code of a failure, if any. */
export const errorCode = (cause: unknown): string | undefined => {
  const code = fields(cause).code
  return typeof code === "string" ? code : undefined
}

/** True when the failure is a unique violation of the named constraint/index. */
export const isUniqueViolation = (cause: unknown, constraint: string): boolean =>
  errorCode(cause) === "23505" && fields(cause).constraint === constraint

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P01",
  "57P02",
  "57P03",
  "53300"
])

const unavailableMessages = [
  /connection terminated/i,
  /connection ended/i,
  /terminating connection/i,
  /client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
  /not queryable/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /connect ECONNREFUSED/i,
  /PGlite is closed/i
]

const timeoutMessages = [/timeout exceeded when trying to connect/i, /query read timeout/i, /statement timeout/i]

/** The message of a failure, without parameters. */
export const errorMessage = (cause: unknown): string => {
  const message = fields(cause).message
  const text = typeof message === "string" ? message : String(cause)
  const code = errorCode(cause)
  return code === undefined ? text : `${code}: ${text}`
}

/** Classifies a driver failure. */
export const classify = (cause: unknown): GrantStore.StoreError["reason"] => {
  const code = errorCode(cause)
  const message = errorMessage(cause)
  if (code === "57014" || timeoutMessages.some((pattern) => pattern.test(message))) return "Timeout"
  if (code !== undefined && (unavailableCodes.has(code) || code.startsWith("08"))) return "Unavailable"
  if (unavailableMessages.some((pattern) => pattern.test(message))) return "Unavailable"
  return "Unknown"
}

/** A `StoreError` for a driver failure during `operation`. */
export const toStoreError = (operation: string, cause: unknown): GrantStore.StoreError =>
  new GrantStore.StoreError({ reason: classify(cause), message: `${operation}: ${errorMessage(cause)}`, cause })
