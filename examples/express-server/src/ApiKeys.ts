/**
 * API keys → actors. Keys are configured as `TA_API_KEYS="<key>=<actor>:<role>[+<role>],…"`
 * (roles as the core's role policy reads them: `admin`, `operator`, `viewer`). Keys are
 * looked up by their SHA-256 digest, so the table never holds or compares a key in clear.
 *
 * @since 0.1.0
 */
import { Ids, type Policy } from "@transient-access/core"
import * as Crypto from "node:crypto"

/**
 * An API key's entry.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApiKeyEntry {
  readonly key: string
  readonly actor: Policy.Actor
}

/**
 * Resolves the key a request presents.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApiKeys {
  readonly lookup: (presented: string) => Policy.Actor | undefined
}

const digest = (key: string) => Crypto.createHash("sha256").update(key, "utf8").digest("base64")

const knownRoles = new Set(["admin", "operator", "viewer"])

/**
 * Parses `TA_API_KEYS`. Throws on malformed entries (a configuration error must stop the
 * server, not silently drop a key).
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseApiKeys = (text: string): ReadonlyArray<ApiKeyEntry> =>
  text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const equals = part.lastIndexOf("=")
      const key = part.slice(0, equals)
      const [actorId = "", roleText = ""] = part.slice(equals + 1).split(":")
      const roles = roleText.split("+").filter((role) => role !== "")
      if (equals < 16 || !Ids.isId(actorId) || roles.length === 0 || roles.some((role) => !knownRoles.has(role))) {
        throw new Error("TA_API_KEYS: expected <key of 16+ chars>=<actor>:<admin|operator|viewer>[+role] entries")
      }
      return { key, actor: { id: actorId as Policy.Actor["id"], roles } }
    })

/**
 * A lookup table over the entries.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeApiKeys = (entries: ReadonlyArray<ApiKeyEntry>): ApiKeys => {
  const table = new Map(entries.map((entry) => [digest(entry.key), entry.actor]))
  return { lookup: (presented) => table.get(digest(presented)) }
}

/**
 * A fresh random API key (for the demo).
 *
 * @category constructors
 * @since 0.1.0
 */
export const generateApiKey = (): string => `tak_${Crypto.randomBytes(24).toString("base64url")}`
