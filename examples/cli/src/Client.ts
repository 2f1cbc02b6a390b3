/**
 * A small client for the example server's REST API. Failures become `ApiError` carrying the
 * problem document's `_tag`, status and detail (RFC 9457), so callers can branch on the tag;
 * a server that cannot be reached is `ServerUnreachable`, naming its URL.
 *
 * @since 0.1.0
 */

/**
 * A failed API call.
 *
 * @category errors
 * @since 0.1.0
 */
export class ApiError extends Error {
  readonly _tag: string
  readonly status: number
  constructor(tag: string, status: number, detail: string) {
    super(detail)
    this._tag = tag
    this.status = status
  }
}

/**
 * The server did not answer: refused, unknown host, reset, TLS failure.
 *
 * @category errors
 * @since 0.2.0
 */
export class ServerUnreachable extends Error {
  readonly url: string
  constructor(url: string, cause: unknown) {
    super(`cannot reach the server at ${url}: ${reasonOf(cause)}`)
    this.url = url
  }
}

/** The most specific reason in a fetch failure (`ECONNREFUSED`, `ENOTFOUND`, …). */
const reasonOf = (error: unknown): string => {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error
  if (cause instanceof AggregateError && cause.errors.length > 0) return reasonOf(cause.errors[0])
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    return typeof code === "string" ? `${code} (${cause.message})` : cause.message
  }
  return String(cause)
}

/**
 * A grant as the API returns it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApiGrant {
  readonly id: string
  readonly kind: "access" | "port-forward"
  readonly deviceId: string
  readonly accessType: "ssh" | "winbox"
  readonly permission: "full" | "read-only"
  readonly source: string
  readonly state: "pending" | "active" | "revoking" | "revoked"
  readonly ready: boolean
  readonly expiresAt: string
  readonly username: string
  readonly endpoint: { readonly host: string; readonly port: number }
  /** The LAN target of a port forward. */
  readonly forward: { readonly address: string; readonly port: number } | null
  readonly progress: {
    readonly natOpen: boolean
    readonly deviceReady: boolean
    readonly natGone: boolean
    readonly deviceGone: boolean
    readonly revokeStuck: boolean
  }
  readonly revokeReason: string | null
}

/**
 * The answer to a grant request; `credentials` only on the first answer.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApiGrantCreated {
  readonly grant: ApiGrant
  readonly replayed: boolean
  readonly warnings: ReadonlyArray<string>
  readonly credentials: {
    readonly username: string
    readonly password: string
    readonly host: string
    readonly port: number
    readonly sshCommand: string | null
    readonly winboxAddress: string | null
  } | null
}

/**
 * The API client.
 *
 * @category models
 * @since 0.1.0
 */
export interface Client {
  readonly grant: (deviceId: string, body: Record<string, unknown>, idempotencyKey?: string) => Promise<ApiGrantCreated>
  readonly list: (deviceId: string, states?: string) => Promise<ReadonlyArray<ApiGrant>>
  readonly get: (grantId: string) => Promise<ApiGrant>
  readonly revoke: (grantId: string) => Promise<ApiGrant>
}

/**
 * Creates a client for `baseUrl` with `apiKey`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeClient = (baseUrl: string, apiKey: string): Client => {
  const call = async <A>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<A> => {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    }).catch((error: unknown) => {
      throw new ServerUnreachable(baseUrl, error)
    })
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>
    if (!response.ok) {
      throw new ApiError(String(payload["_tag"] ?? "HttpError"), response.status, String(payload["detail"] ?? response.statusText))
    }
    return payload as A
  }
  const segment = encodeURIComponent
  return {
    grant: (deviceId, body, idempotencyKey) =>
      call(
        "POST",
        `/api/devices/${segment(deviceId)}/grants`,
        body,
        idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey }
      ),
    list: async (deviceId, states) =>
      (
        await call<{ grants: ReadonlyArray<ApiGrant> }>(
          "GET",
          `/api/devices/${segment(deviceId)}/grants${states === undefined ? "" : `?states=${segment(states)}`}`
        )
      ).grants,
    get: async (grantId) => (await call<{ grant: ApiGrant }>("GET", `/api/grants/${segment(grantId)}`)).grant,
    revoke: async (grantId) => (await call<{ grant: ApiGrant }>("DELETE", `/api/grants/${segment(grantId)}`)).grant
  }
}
