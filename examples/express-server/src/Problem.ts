/**
 * RFC 9457 problem details: every error the API returns is `application/problem+json`
 * carrying the typed error's `_tag`, an HTTP status chosen from the tag, and a message that
 * never contains a secret.
 *
 * @since 0.1.0
 */
import type { Response } from "express"

/**
 * A problem document (RFC 9457) with the SDK error tag as an extension member.
 *
 * @category models
 * @since 0.1.0
 */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly _tag: string
  readonly field?: string
  /** For `ForwardTargetRefused`: the rule the target broke (`NotInLan`, `Loopback`, …). */
  readonly rule?: string
  /** For 5xx answers: the id under which the server logged the error. */
  readonly correlationId?: string
}

const statusByTag: Readonly<Record<string, number>> = {
  InvalidRequest: 400,
  InvalidCidr: 400,
  MalformedBody: 400,
  Unauthorized: 401,
  PolicyDenied: 403,
  GrantNotFound: 404,
  DeviceNotFound: 404,
  RegionNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  IdempotencyConflict: 409,
  ForwardTargetRefused: 422,
  GrantStateConflict: 409,
  NotPullDevice: 409,
  PayloadTooLarge: 413,
  RateLimited: 429,
  UnsupportedMediaType: 415,
  PortsExhausted: 503,
  StoreError: 503
}

const titleByTag: Readonly<Record<string, string>> = {
  InvalidRequest: "The request is invalid",
  MalformedBody: "The request body is not valid JSON",
  Unauthorized: "Missing or unknown API key",
  PolicyDenied: "Not allowed",
  GrantNotFound: "No such grant",
  DeviceNotFound: "No such device",
  NotFound: "Not found",
  IdempotencyConflict: "Idempotency key reused with a different request",
  ForwardTargetRefused: "The port-forward target is not allowed",
  NotPullDevice: "The device is not a pull-mode device",
  PayloadTooLarge: "The request body is too large",
  RateLimited: "Too many requests; retry after the time in Retry-After",
  UnsupportedMediaType: "Send application/json",
  PortsExhausted: "No free port on the regional server",
  StoreError: "The grant store is unavailable"
}

/**
 * An error the HTTP layer raises itself (auth, routing, body parsing).
 *
 * @category errors
 * @since 0.1.0
 */
export class HttpProblem extends Error {
  readonly _tag: string
  readonly field: string | undefined
  /** Response headers the problem needs (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>
  constructor(tag: string, message: string, field?: string, headers: Readonly<Record<string, string>> = {}) {
    super(message)
    this._tag = tag
    this.field = field
    this.headers = headers
  }
}

const messageOf = (error: { readonly _tag: string; readonly message?: unknown }): string => {
  if (typeof error.message === "string" && error.message !== "") return error.message
  return titleByTag[error._tag] ?? error._tag
}

/**
 * Maps any thrown value to a problem. Typed SDK errors keep their tag; anything else is a
 * 500 whose detail hides the internals.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toProblem = (error: unknown): Problem => {
  const tagged = error as { readonly _tag?: unknown; readonly message?: unknown; readonly field?: unknown; readonly rule?: unknown }
  if (error !== null && typeof error === "object" && typeof tagged._tag === "string" && tagged._tag in statusByTag) {
    const tag = tagged._tag
    const status = statusByTag[tag] ?? 500
    return {
      type: `https://transient-access.dev/problems/${tag}`,
      title: titleByTag[tag] ?? tag,
      status,
      detail: messageOf({ _tag: tag, message: tagged.message }),
      _tag: tag,
      ...(typeof tagged.field === "string" ? { field: tagged.field } : {}),
      ...(tag === "ForwardTargetRefused" ? { field: "forward" } : {}),
      ...(typeof tagged.rule === "string" ? { rule: tagged.rule } : {})
    }
  }
  return {
    type: "https://transient-access.dev/problems/Internal",
    title: "Internal error",
    status: 500,
    detail: "The server failed to handle the request; see its log.",
    _tag: "Internal"
  }
}

/**
 * Sends a problem response.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sendProblem = (response: Response, problem: Problem): void => {
  response.status(problem.status).type("application/problem+json").send(JSON.stringify(problem))
}
