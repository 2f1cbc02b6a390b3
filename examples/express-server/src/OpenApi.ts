/**
 * The OpenAPI 3.1 document served at `/openapi.json`. Request schemas are generated from the
 * same Effect Schemas the handlers decode with, so the document cannot drift from them.
 *
 * @since 0.1.0
 */
import { Ids } from "@transient-access/core"
import * as Schema from "effect/Schema"
import { AuditQuery, CreateGrantBody, ListGrantsQuery } from "./Api.ts"

const jsonSchema = (schema: Schema.Top) => {
  const document = Schema.toJsonSchemaDocument(schema)
  return { ...document.schema, ...(Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {}) }
}

const queryParameters = (schema: Schema.Top) => {
  const properties = (jsonSchema(schema) as { readonly properties?: Record<string, unknown> }).properties ?? {}
  return Object.entries(properties).map(([name, property]) => ({ name, in: "query", required: false, schema: property }))
}

const problem = { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } }
const errors = (...statuses: ReadonlyArray<number>) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: "Problem", content: problem }]))
const pathId = (name: string) => ({ name, in: "path", required: true, schema: { type: "string", pattern: Ids.idPattern.source } })
const json = (description: string, ref: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } }
})

/**
 * Builds the document.
 *
 * @category constructors
 * @since 0.1.0
 */
export const openApiDocument = (serverUrl: string) => ({
  openapi: "3.1.0",
  info: {
    title: "Transient Access example API",
    version: "0.1.0",
    description:
      "Just-in-time, time-limited SSH/WinBox access to MikroTik routers. Errors are RFC 9457 problem+json with the SDK error `_tag`."
  },
  servers: [{ url: serverUrl }],
  security: [{ apiKey: [] }],
  paths: {
    "/api/me": { get: { summary: "The caller's actor and address", responses: { "200": { description: "Actor" }, ...errors(401) } } },
    "/api/sites": { get: { summary: "Sites and their devices", responses: { "200": { description: "Sites" }, ...errors(401) } } },
    "/api/devices/{deviceId}/grants": {
      parameters: [pathId("deviceId")],
      post: {
        summary: "Create an access grant on a device; the password is in this response only",
        parameters: [{ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string", maxLength: 128 } }],
        requestBody: { required: true, content: { "application/json": { schema: jsonSchema(CreateGrantBody) } } },
        responses: {
          "201": json("Created, with credentials", "GrantCreated"),
          "200": json("Idempotent replay (no password)", "GrantCreated"),
          ...errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
        }
      },
      get: {
        summary: "List a device's grants (newest first)",
        parameters: queryParameters(ListGrantsQuery),
        responses: { "200": { description: "Grants" }, ...errors(400, 401) }
      }
    },
    "/api/grants/{grantId}": {
      parameters: [pathId("grantId")],
      get: { summary: "Get a grant", responses: { "200": json("The grant", "GrantEnvelope"), ...errors(401, 403, 404) } },
      delete: {
        summary: "Revoke a grant (idempotent)",
        responses: { "200": json("The grant, revoking or revoked", "GrantEnvelope"), ...errors(401, 403, 404) }
      }
    },
    "/api/audit": {
      get: {
        summary: "Audit events (newest first)",
        parameters: queryParameters(AuditQuery),
        responses: { "200": { description: "Events" }, ...errors(400, 401, 403) }
      }
    },
    "/api/audit/verify": {
      get: {
        summary: "Verify the audit log's hash chain (admins): records checked, unchained, the first broken link",
        responses: { "200": { description: "Verify report" }, ...errors(401, 403) }
      }
    },
    "/api/audit/export": {
      get: {
        summary: "The audit log with its chain hashes, oldest first, as JSON lines (admins)",
        responses: {
          "200": { description: "JSON lines", content: { "application/x-ndjson": { schema: { type: "string" } } } },
          ...errors(401, 403)
        }
      }
    },
    "/api/devices/{deviceId}/bootstrap": {
      parameters: [pathId("deviceId")],
      post: {
        summary:
          "Pull-mode device: issue a new check-in token (the old one stops working) and return the bootstrap script to paste on the router (admins)",
        responses: {
          "200": { description: "RouterOS script", content: { "text/plain": { schema: { type: "string" } } } },
          ...errors(401, 403, 404, 409)
        }
      }
    },
    "/device/{deviceId}/checkin": {
      parameters: [pathId("deviceId")],
      post: {
        summary:
          "Pull-mode device check-in (per-device bearer token): reports applied sequence numbers and device state, returns the RouterOS script to run",
        security: [{ deviceToken: [] }],
        responses: {
          "200": { description: "RouterOS script", content: { "text/plain": { schema: { type: "string" } } } },
          ...errors(400, 401, 404)
        }
      }
    }
  },
  components: {
    securitySchemes: {
      apiKey: { type: "http", scheme: "bearer", description: "An API key from TA_API_KEYS" },
      deviceToken: { type: "http", scheme: "bearer", description: "The device's check-in token" }
    },
    schemas: {
      Problem: {
        type: "object",
        required: ["type", "title", "status", "detail", "_tag"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          _tag: { type: "string", description: "The SDK's typed error tag, e.g. InvalidRequest, PolicyDenied, PortsExhausted" },
          field: { type: "string" },
          rule: {
            type: "string",
            description: "For ForwardTargetRefused (422): the rule the target broke (NotInLan, Loopback, Multicast, LinkLocal, …)"
          }
        }
      },
      Grant: {
        type: "object",
        properties: {
          id: { type: "string" },
          kind: { enum: ["access", "port-forward"] },
          deviceId: { type: "string" },
          accessType: { enum: ["ssh", "winbox"] },
          permission: { enum: ["full", "read-only"] },
          source: { type: "string" },
          state: { enum: ["pending", "active", "revoking", "revoked"] },
          ready: { type: "boolean" },
          expiresAt: { type: "string", format: "date-time" },
          endpoint: { type: "object", properties: { host: { type: "string" }, port: { type: "integer" } } },
          username: { type: "string" },
          forward: { type: ["object", "null"], properties: { address: { type: "string" }, port: { type: "integer" } } }
        }
      },
      GrantEnvelope: { type: "object", properties: { grant: { $ref: "#/components/schemas/Grant" } } },
      GrantCreated: {
        type: "object",
        properties: {
          grant: { $ref: "#/components/schemas/Grant" },
          replayed: { type: "boolean" },
          warnings: { type: "array", items: { type: "string" } },
          credentials: {
            type: ["object", "null"],
            properties: {
              username: { type: "string" },
              password: { type: "string", description: "Shown once" },
              host: { type: "string" },
              port: { type: "integer" },
              sshCommand: { type: ["string", "null"] },
              winboxAddress: { type: ["string", "null"] }
            }
          }
        }
      }
    }
  }
})
