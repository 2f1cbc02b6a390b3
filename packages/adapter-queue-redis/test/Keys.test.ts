/**
 * The key layout: every key of a target carries exactly that target as its hash tag (one
 * cluster slot), for any valid target and prefix; prefixes with braces are refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import * as RedisKeys from "../src/internal/keys.ts"

/** The hash tag Redis Cluster hashes: the content of the first `{...}` if non-empty. */
const hashTag = (key: string): string => {
  const open = key.indexOf("{")
  if (open < 0) return key
  const close = key.indexOf("}", open + 1)
  if (close < 0 || close === open + 1) return key
  return key.slice(open + 1, close)
}

const idChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-".split(""))
const target = fc
  .tuple(fc.constantFrom("region", "device"), fc.constantFrom(..."abcXYZ019".split("")), fc.array(idChar, { maxLength: 40 }))
  .map(([kind, first, rest]) => `${kind}:${first}${rest.join("")}`)
const prefix = fc.array(idChar, { minLength: 1, maxLength: 64 }).map((chars) => chars.join(""))

describe("key layout", () => {
  it("all keys of a target hash on the target (property)", () => {
    fc.assert(
      fc.property(prefix, target, (p, t) => {
        for (const key of RedisKeys.targetKeyList(RedisKeys.targetKeys(p, t))) assert.strictEqual(hashTag(key), t)
        for (const key of Object.values(RedisKeys.globalKeys(p))) assert.strictEqual(hashTag(key), p)
      }),
      { numRuns: 500 }
    )
  })

  it("the prefix schema refuses braces and empty prefixes", () => {
    const decode = Schema.decodeUnknownExit(RedisKeys.KeyPrefix)
    for (const bad of ["", "a{b", "a}b", "{x}", "a b", "x".repeat(65)]) assert.strictEqual(decode(bad)._tag, "Failure", bad)
    assert.strictEqual(decode("ta:prod-1")._tag, "Success")
  })
})
