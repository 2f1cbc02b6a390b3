/**
 * The Express application: JSON API under `/api`, the OpenAPI document, the dashboard page,
 * the pull-mode device endpoints, and one error handler that turns everything into
 * problem+json.
 *
 * @since 0.1.0
 */
import express, { type Express, type NextFunction, type Request, type Response } from "express"
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
  /** Called with unexpected (5xx) errors; never receives secrets from the API layer. */
  readonly onInternalError?: (error: unknown) => void
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
  app.get("/openapi.json", (request, response) => {
    response.json(openApiDocument(`${request.protocol}://${request.get("host") ?? "localhost"}`))
  })
  app.use("/api", makeApiRouter(options))
  if (options.pull !== undefined) app.use("/device", makeCheckInRouter(options.pull))
  app.use(express.static(Path.join(import.meta.dirname, "public"), { index: "index.html", maxAge: 0 }))
  app.use((_request: Request, _response: Response, next: NextFunction) => {
    next(new HttpProblem("NotFound", "no such resource"))
  })
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const type = (error as { readonly type?: unknown } | null)?.type
    const mapped = typeof type === "string" && type in bodyParserProblems ? bodyParserProblems[type] : error
    const problem = toProblem(mapped)
    if (problem.status >= 500 && problem._tag === "Internal") options.onInternalError?.(error)
    sendProblem(response, problem)
  })
  return app
}
