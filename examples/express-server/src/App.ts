/**
 * The Express application: JSON API under `/api`, the OpenAPI document, the dashboard page,
 * the pull-mode device endpoints, and one error handler that turns everything into
 * problem+json.
 *
 * @since 0.1.0
 */
import express, { type Express, type NextFunction, type Request, type Response } from "express"
import { randomUUID } from "node:crypto"
import * as Path from "node:path"
import { type ApiOptions, makeApiRouter } from "./Api.ts"
import { makeCheckInRouter } from "./CheckIn.ts"
import { openApiDocument } from "./OpenApi.ts"
import { HttpProblem, sendProblem, toProblem } from "./Problem.ts"

/**
 * What the app needs.
 *
 * @category models
 * @since 0.1.0
 */
export interface AppOptions extends ApiOptions {
  /** Express `trust proxy` value: addresses/CIDRs of proxies whose X-Forwarded-For is believed. */
  readonly trustedProxies: ReadonlyArray<string>
  /** Largest accepted JSON body (default 16 KiB). */
  readonly bodyLimit?: string
  /**
   * Called with every 5xx error and the correlation id its answer carries; the client sees
   * only a generic problem with that id. Never receives secrets from the API layer.
   */
  readonly onInternalError?: (error: unknown, correlationId: string) => void
}

const bodyParserProblems: Readonly<Record<string, HttpProblem>> = {
  "entity.too.large": new HttpProblem("PayloadTooLarge", "the body exceeds the size limit"),
  "entity.parse.failed": new HttpProblem("MalformedBody", "the body is not valid JSON"),
  "encoding.unsupported": new HttpProblem("UnsupportedMediaType", "unsupported content encoding"),
  "charset.unsupported": new HttpProblem("UnsupportedMediaType", "unsupported charset"),
  "request.aborted": new HttpProblem("MalformedBody", "the request was aborted"),
  "request.size.invalid": new HttpProblem("MalformedBody", "the body is shorter or longer than its Content-Length")
}

/**
 * The problem of a body the parser could not read: its known kinds, and any other 4xx it
 * raises (a corrupt gzip or deflate stream, say) as `MalformedBody`, never a 500.
 */
const bodyProblem = (error: unknown): HttpProblem | undefined => {
  const { type, status, code } = (error ?? {}) as { readonly type?: unknown; readonly status?: unknown; readonly code?: unknown }
  // zlib's own errors for a corrupt gzip/deflate (Z_DATA_ERROR, …) or brotli (ERR__ERROR_…) stream
  if (typeof code === "string" && /^(Z_|ERR__ERROR_)/.test(code))
    return new HttpProblem("MalformedBody", "the body is not a valid compressed stream")
  if (typeof type !== "string") return undefined
  const known = bodyParserProblems[type]
  if (known !== undefined) return known
  return typeof status === "number" && status >= 400 && status < 500
    ? new HttpProblem("MalformedBody", "the body could not be read")
    : undefined
}

/**
 * Builds the app.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeApp = (options: AppOptions): Express => {
  const app = express()
  app.disable("x-powered-by")
  app.set("trust proxy", options.trustedProxies.length === 0 ? false : [...options.trustedProxies])
  app.set("json spaces", 0)
  app.use((_request, response, next) => {
    response.set({
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      "Cache-Control": "no-store"
    })
    next()
  })
  app.use(express.json({ limit: options.bodyLimit ?? "16kb", strict: true }))
  app.get("/openapi.json", (_request, response) => {
    // a relative server URL: the document never repeats the request's Host header
    response.json(openApiDocument("/"))
  })
  app.use("/api", makeApiRouter(options))
  if (options.pull !== undefined) app.use("/device", makeCheckInRouter(options.pull))
  app.use(express.static(Path.join(import.meta.dirname, "public"), { index: "index.html", maxAge: 0 }))
  app.use((_request: Request, _response: Response, next: NextFunction) => {
    next(new HttpProblem("NotFound", "no such resource"))
  })
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const problem = toProblem(bodyProblem(error) ?? error)
    if (error instanceof HttpProblem) response.set(error.headers)
    if (problem.status < 500) return sendProblem(response, problem)
    // 5xx: the client learns the tag and a correlation id, never the internals (a database
    // message, a stack); the log gets the error under the same id.
    const correlationId = randomUUID()
    options.onInternalError?.(error, correlationId)
    sendProblem(response, {
      ...problem,
      detail: `${problem.title}; the server's log has the details under correlation id ${correlationId}`,
      correlationId
    })
  })
  return app
}
