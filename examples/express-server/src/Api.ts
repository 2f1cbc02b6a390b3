/**
 * The REST API over the SDK facade: create a grant on a device, list a device's grants, get
 * one, revoke one, read the audit log, list sites, issue a pull-mode device's bootstrap
 * script (admins; rotates the device's token; audited as `device.bootstrap`). Every body and query is decoded with a
 * Schema before the SDK sees it (unknown keys are refused); every failure is problem+json.
 *
 * @since 0.1.0
 */
import { AuditLog, Cidr, type Facade, type Grant, GrantRequest, Ids, type Policy } from "@transient-access/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import express, { type NextFunction, type Request, type Response, type Router } from "express"
import type { ApiKeys } from "./ApiKeys.ts"
import type { PullDevices } from "./CheckIn.ts"
import { devicesOf, type Inventory } from "./Inventory.ts"
import { HttpProblem } from "./Problem.ts"
import { presentGrant, presentGrantResult } from "./Present.ts"
import * as RateLimit from "./RateLimit.ts"

/**
 * What the API needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApiOptions {
  readonly sdk: Facade.TransientAccess
  readonly apiKeys: ApiKeys
  readonly inventory: Inventory
  /** Pull-mode devices (check-ins and bootstrap scripts). */
  readonly pull?: PullDevices
  /** Abuse limits (default: 30 failed authentications a minute per source, 60 grants a minute per key and per source). */
  readonly limits?: ApiLimits
}

/**
 * Abuse limits, each a token bucket: failed authentications per source address, grant
 * creations per API key and per source address.
 *
 * @category models
 * @since 0.2.0
 */
export interface ApiLimits {
  readonly authFailuresPerSource: RateLimit.Limiter
  readonly grantsPerKey: RateLimit.Limiter
  readonly grantsPerSource: RateLimit.Limiter
}

/**
 * The limits from per-minute rates (burst = one minute's worth).
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeLimits = (rates: { readonly authFailuresPerMinute: number; readonly grantsPerMinute: number }): ApiLimits => ({
  authFailuresPerSource: RateLimit.makeLimiter({ perMinute: rates.authFailuresPerMinute, burst: rates.authFailuresPerMinute }),
  grantsPerKey: RateLimit.makeLimiter({ perMinute: rates.grantsPerMinute, burst: rates.grantsPerMinute }),
  grantsPerSource: RateLimit.makeLimiter({ perMinute: rates.grantsPerMinute, burst: rates.grantsPerMinute })
})

const limited = (retryAfterSeconds: number, what: string) =>
  new HttpProblem("RateLimited", `too many ${what}; retry in ${retryAfterSeconds} s`, undefined, {
    "Retry-After": String(retryAfterSeconds)
  })

/**
 * The body of `POST /api/devices/{deviceId}/grants`: the core's `GrantRequest` without the
 * device id (it comes from the path).
 *
 * @category schemas
 * @since 0.1.0
 */
export const CreateGrantBody = GrantRequest.GrantRequest.mapFields(({ deviceId: _deviceId, ...fields }) => fields)

/**
 * Query of `GET /api/devices/{deviceId}/grants`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const ListGrantsQuery = Schema.Struct({
  /** Comma-separated states; default every state. */
  states: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^(pending|active|revoking|revoked)(,(pending|active|revoking|revoked)){0,3}$/))
  ),
  limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 500 })))
})

/**
 * Query of `GET /api/audit`.
 *
 * @category schemas
 * @since 0.1.0
 */
export const AuditQuery = Schema.Struct({
  grantId: Schema.optionalKey(Schema.String.check(Schema.isPattern(Ids.idPattern))),
  limit: Schema.optionalKey(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 1000 })))
})

const strict = { errors: "all", onExcessProperty: "error" } as const

/** Decodes `input` or throws an `InvalidRequest` problem naming the first offending field. */
export const decodeOrThrow = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, input: unknown): S["Type"] => {
  const result = Schema.decodeUnknownResult(schema, strict)(input)
  if (Result.isSuccess(result)) return result.success
  const message = result.failure.message
  const field = /at \["([^"]+)"\]/.exec(message)?.[1]
  throw new HttpProblem("InvalidRequest", message.slice(0, 500), field)
}

/**
 * The caller's address as the SDK wants it (IPv4-mapped IPv6 unwrapped), honouring the
 * app's `trust proxy` setting through `req.ip`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const callerAddress = (request: Request): string | undefined => {
  const address = request.ip ?? request.socket.remoteAddress
  return address === undefined ? undefined : Cidr.canonicalAddress(address)
}

/** Reads the actor from `Authorization: Bearer <key>` (scheme case-insensitive, RFC 9110 §11.1) or `X-API-Key`. */
const authenticate = (apiKeys: ApiKeys, limits: ApiLimits) => (request: Request, response: Response, next: NextFunction) => {
  const header = request.get("authorization")
  const bearer = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  const presented = bearer !== null ? bearer[1] : request.get("x-api-key")
  const missing = presented === undefined || presented === ""
  const actor = missing ? undefined : apiKeys.lookup(presented)
  if (actor === undefined) {
    const wait = limits.authFailuresPerSource.take(`auth:${callerAddress(request) ?? "unknown"}`)
    if (wait !== undefined) {
      next(limited(wait, "failed authentications from this address"))
      return
    }
    // RFC 6750 §3: the challenge, with error="invalid_token" when a key was sent but is unknown
    const challenge = missing ? 'Bearer realm="transient-access"' : 'Bearer realm="transient-access", error="invalid_token"'
    const message = missing ? "no API key: send 'Authorization: Bearer <key>'" : "unknown API key"
    next(new HttpProblem("Unauthorized", message, undefined, { "WWW-Authenticate": challenge }))
    return
  }
  response.locals["actor"] = actor
  next()
}

const actorOf = (response: Response): Policy.Actor => response.locals["actor"] as Policy.Actor

const requireJsonObject = (request: Request): Record<string, unknown> => {
  if (!request.is("application/json"))
    throw new HttpProblem("UnsupportedMediaType", "send a JSON object with Content-Type: application/json")
  const body: unknown = request.body
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpProblem("InvalidRequest", "the body must be a JSON object")
  }
  return body as Record<string, unknown>
}

const pathParameter = (request: Request, name: string): string => {
  const value = request.params[name]
  if (typeof value !== "string" || !Ids.isId(value)) {
    throw new HttpProblem("NotFound", `no such ${name}`)
  }
  return value
}

const idempotencyKey = (request: Request): string | undefined => {
  const key = request.get("idempotency-key")
  if (key === undefined) return undefined
  if (!/^[\x21-\x7e]{1,128}$/.test(key))
    throw new HttpProblem("InvalidRequest", "Idempotency-Key must be 1-128 printable ASCII characters", "Idempotency-Key")
  return key
}

/**
 * The `/api` router (mount it after `express.json`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeApiRouter = (options: ApiOptions): Router => {
  const { inventory, sdk } = options
  const router = express.Router()
  const limits = options.limits ?? makeLimits({ authFailuresPerMinute: 30, grantsPerMinute: 60 })
  const knownDevices = new Set(devicesOf(inventory).map((device) => device.id as string))
  router.use(authenticate(options.apiKeys, limits))

  router.get("/me", (request, response) => {
    const actor = actorOf(response)
    response.json({ actor: { id: actor.id, roles: actor.roles }, callerAddress: callerAddress(request) ?? null })
  })

  router.get("/sites", (_request, response) => {
    response.json({ sites: inventory.sites })
  })

  router.post("/devices/:deviceId/grants", async (request, response) => {
    const deviceId = pathParameter(request, "deviceId")
    const wait =
      limits.grantsPerKey.take(`grants:${actorOf(response).id}`) ??
      limits.grantsPerSource.take(`grants:${callerAddress(request) ?? "unknown"}`)
    if (wait !== undefined) throw limited(wait, "grant requests")
    const body = decodeOrThrow(CreateGrantBody, requireJsonObject(request))
    const key = idempotencyKey(request)
    const address = callerAddress(request)
    const result = await sdk.grant({
      ...body,
      deviceId,
      actor: actorOf(response),
      ...(address !== undefined ? { callerAddress: address } : {}),
      ...(key !== undefined ? { idempotencyKey: key } : {})
    })
    response.status(result.replayed ? 200 : 201).json(presentGrantResult(result))
  })

  router.get("/devices/:deviceId/grants", async (request, response) => {
    const deviceId = pathParameter(request, "deviceId")
    if (!knownDevices.has(deviceId)) throw new HttpProblem("DeviceNotFound", `no device ${deviceId}`)
    const query = decodeOrThrow(ListGrantsQuery, request.query)
    const states = query.states?.split(",") as ReadonlyArray<Grant.GrantState> | undefined
    const grants = await sdk.list(actorOf(response), {
      deviceId,
      ...(states !== undefined ? { states } : {}),
      limit: query.limit ?? 100
    })
    response.json({ grants: grants.map(presentGrant) })
  })

  router.get("/grants/:grantId", async (request, response) => {
    const grant = await sdk.get(actorOf(response), pathParameter(request, "grantId"))
    response.json({ grant: presentGrant(grant) })
  })

  router.delete("/grants/:grantId", async (request, response) => {
    const grant = await sdk.revoke(actorOf(response), pathParameter(request, "grantId"))
    response.json({ grant: presentGrant(grant) })
  })

  router.post("/devices/:deviceId/bootstrap", async (request, response) => {
    const deviceId = pathParameter(request, "deviceId")
    const actor = actorOf(response)
    if (!actor.roles.includes("admin")) throw new HttpProblem("PolicyDenied", "only admins may bootstrap devices")
    if (options.pull === undefined) throw new HttpProblem("NotPullDevice", "this server has no pull-mode devices")
    // ?revokePrevious=true: the old token (leaked?) stops at once; by default it works until
    // the new script runs, so the router still running keeps receiving its commands
    const revokePrevious = request.query["revokePrevious"] === "true"
    const script = await options.pull.bootstrap(deviceId, { revokePrevious })
    await sdk.runtime.runPromise(
      Effect.gen(function* () {
        const audit = yield* AuditLog.AuditLog
        const at = yield* Clock.currentTimeMillis
        yield* audit.record({ at, actor: actor.id, action: "device.bootstrap", grantId: null, details: { deviceId, revokePrevious } })
      })
    )
    response.type("text/plain").send(script)
  })

  router.get("/audit", async (request, response) => {
    const query = decodeOrThrow(AuditQuery, request.query)
    const actor = actorOf(response)
    if (query.grantId !== undefined)
      await sdk.get(actor, query.grantId) // read permission on that grant
    else if (!actor.roles.includes("admin") && !actor.roles.includes("operator")) {
      throw new HttpProblem("PolicyDenied", "only admins and operators may read the whole audit log")
    }
    const events = await sdk.audit({
      ...(query.grantId !== undefined ? { grantId: query.grantId } : {}),
      limit: query.limit ?? 100
    })
    response.json({ events })
  })

  /** Admins: the audit log's chain verified, or exported as JSON lines an auditor can verify alone. */
  const requireAdmin = (response: Response) => {
    if (!actorOf(response).roles.includes("admin")) throw new HttpProblem("PolicyDenied", "only admins may verify or export the audit log")
  }
  router.get("/audit/verify", async (_request, response) => {
    requireAdmin(response)
    response.json(await sdk.verifyAudit())
  })
  router.get("/audit/export", async (_request, response) => {
    requireAdmin(response)
    const chain = await sdk.exportAudit()
    response.type("application/x-ndjson").send(chain.map((entry) => JSON.stringify(entry)).join("\n") + (chain.length > 0 ? "\n" : ""))
  })

  return router
}
