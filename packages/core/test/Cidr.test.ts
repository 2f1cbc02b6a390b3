/**
 * Tests of the CIDR gate: one example per rejection rule, and fast-check properties
 * against an independent reference written here (bit arithmetic on BigInt, an RFC 5952
 * formatter, and a random re-spelling of each value). Failing properties print
 * fast-check's seed and path; rerun with `{ seed, path }` in the `fc.assert` options.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import * as Cidr from "../src/Cidr.ts"

// ---------------------------------------------------------------------------------------
// Reference model: a network is (family, 32/128-bit BigInt value, prefix length).
// ---------------------------------------------------------------------------------------

interface RefNetwork {
  readonly family: 4 | 6
  readonly value: bigint
  readonly prefix: number
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128)
const maskOf = (family: 4 | 6, prefix: number): bigint => {
  const bits = BigInt(bitsOf(family))
  const all = (1n << bits) - 1n
  return prefix === 0 ? 0n : (all >> BigInt(bitsOf(family) - prefix)) << (bits - BigInt(prefix))
}
const groupsOf = (value: bigint): Array<number> =>
  Array.from({ length: 8 }, (_, index) => Number((value >> BigInt(112 - index * 16)) & 0xffffn))
const v4Text = (value: bigint): string => [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join(".")

/** RFC 5952 §4: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::", first on ties. */
const rfc5952 = (value: bigint): string => {
  const groups = groupsOf(value)
  let bestStart = -1
  let bestLength = 0
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++
      continue
    }
    let end = start
    while (end < 8 && groups[end] === 0) end++
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start]
    start = end
  }
  const hex = (part: ReadonlyArray<number>) => part.map((group) => group.toString(16)).join(":")
  if (bestLength < 2) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`
}

const refAddressText = (family: 4 | 6, value: bigint) => (family === 4 ? v4Text(value) : rfc5952(value))
const refCanonical = (network: RefNetwork) => `${refAddressText(network.family, network.value)}/${network.prefix}`
const refContains = (network: RefNetwork, family: 4 | 6, address: bigint) =>
  family === network.family && (address & maskOf(family, network.prefix)) === network.value

const mappedBlock: RefNetwork = { family: 6, value: 0xffffn << 32n, prefix: 96 }
const overlaps = (left: RefNetwork, right: RefNetwork) => {
  const prefix = Math.min(left.prefix, right.prefix)
  return (left.value & maskOf(6, prefix)) === (right.value & maskOf(6, prefix))
}

/** Never a source: 0.0.0.0/8 and ::/128, 255.255.255.255/32, anything inside multicast. */
const refCanBeSource = (network: RefNetwork): boolean => {
  const inside = (value: bigint, prefix: number) => network.prefix >= prefix && (network.value & maskOf(network.family, prefix)) === value
  if (network.family === 4) {
    return !inside(0n, 8) && !inside(0xffffffffn, 32) && !inside(0xe0000000n, 4)
  }
  return !inside(0n, 128) && !inside(0xffn << 120n, 8)
}

/** The reference decision: does `network` pass `policy`? */
const refAccepts = (network: RefNetwork, policy: Cidr.CidrPolicy): boolean => {
  if (network.prefix === 0) return policy.allowAnySource
  if (!refCanBeSource(network)) return false
  if (network.family === 6 && overlaps(network, mappedBlock)) return false
  return network.prefix >= (network.family === 4 ? policy.minPrefixV4 : policy.minPrefixV6)
}

const permissive: Cidr.CidrPolicy = { minPrefixV4: 0, minPrefixV6: 0, allowAnySource: true }

// ---------------------------------------------------------------------------------------
// Generators: networks (biased towards zero runs), and random spellings of one value.
// ---------------------------------------------------------------------------------------

/** IPv6 values whose groups are often zero, so "::" placement and ties get exercised. */
const v6Value = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8
  })
  .map((groups) => groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n))
const v4Value = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n })

const networkArb: fc.Arbitrary<RefNetwork> = fc.oneof(
  fc.tuple(v4Value, fc.integer({ min: 0, max: 32 })).map(([value, prefix]) => ({
    family: 4 as const,
    value: value & maskOf(4, prefix),
    prefix
  })),
  fc.tuple(v6Value, fc.integer({ min: 0, max: 128 })).map(([value, prefix]) => ({
    family: 6 as const,
    value: value & maskOf(6, prefix),
    prefix
  }))
)

/** Any RFC 4291 spelling of an IPv6 value: padded groups, mixed case, "::" over any zero run (or none). */
const v6Spelling = (value: bigint): fc.Arbitrary<string> => {
  const groups = groupsOf(value)
  const zeroRuns: Array<[number, number]> = []
  for (let start = 0; start < 8; start++) {
    for (let end = start + 1; end <= 8 && groups[end - 1] === 0; end++) zeroRuns.push([start, end])
  }
  return fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      zeroRuns.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...zeroRuns), { nil: undefined })
    )
    .map(([padding, upper, run]) => {
      const text = groups.map((group, index) => {
        const hex = group.toString(16)
        return "0".repeat(Math.min(padding[index] ?? 0, 4 - hex.length)) + hex
      })
      const joined = run === undefined ? text.join(":") : `${text.slice(0, run[0]).join(":")}::${text.slice(run[1]).join(":")}`
      return upper ? joined.toUpperCase() : joined
    })
}

const spellingArb = (network: RefNetwork): fc.Arbitrary<string> => {
  const address = network.family === 4 ? fc.constant(v4Text(network.value)) : v6Spelling(network.value)
  const full = network.prefix === bitsOf(network.family)
  return fc.tuple(address, fc.boolean()).map(([text, bare]) => (full && bare ? text : `${text}/${network.prefix}`))
}

const spelledNetwork = networkArb.chain((network) => spellingArb(network).map((text) => ({ network, text })))

const policyArb: fc.Arbitrary<Cidr.CidrPolicy> = fc.record({
  minPrefixV4: fc.integer({ min: 0, max: 32 }),
  minPrefixV6: fc.integer({ min: 0, max: 128 }),
  allowAnySource: fc.boolean()
})

const messageOf = (input: string, policy?: Cidr.CidrPolicy): string => {
  const result = Cidr.parseResult(input, policy)
  return Result.isFailure(result) ? result.failure.message : `accepted as ${result.success.cidr}`
}
const cidrOf = (input: string, policy?: Cidr.CidrPolicy): string | undefined => {
  const result = Cidr.parseResult(input, policy)
  return Result.isSuccess(result) ? result.success.cidr : undefined
}

// ---------------------------------------------------------------------------------------

describe("Cidr.parse examples", () => {
  it("canonicalises accepted input", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["203.0.113.0/24", "203.0.113.0/24"],
      ["198.51.100.7", "198.51.100.7/32"],
      ["198.51.100.7/32", "198.51.100.7/32"],
      ["2001:DB8::/48", "2001:db8::/48"],
      ["2001:0db8:0000:0000:0000:0000:0000:0000/48", "2001:db8::/48"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1/128"],
      ["2001:db8::1:0:0:0:1", "2001:db8:0:1::1/128"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(cidrOf(input), expected, input)
    const parsed = Cidr.parseResult("2001:DB8::/48")
    assert.isTrue(Result.isSuccess(parsed))
    if (Result.isSuccess(parsed)) {
      assert.deepStrictEqual(parsed.success, { cidr: "2001:db8::/48", family: 6, network: "2001:db8::", prefixLength: 48 })
    }
  })

  it("rejects each malformed or dangerous form with a reason", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["", "empty"],
      [" 10.0.0.0/24", "whitespace"],
      ["10.0.0.0/24 ", "whitespace"],
      ["10.0.0.0 /24", "whitespace"],
      ["10.0.0.0/24\n", "whitespace"],
      ["10.0.0.0\t/24", "whitespace"],
      ["10.0.0.0/24\u00a0", "whitespace"],
      ["1".repeat(65), "longer than 64"],
      ["010.0.0.1", "leading zeros"],
      ["10.0.0.01", "leading zeros"],
      ["10.00.0.1/32", "leading zeros"],
      ["0x7f.0.0.1", "hexadecimal"],
      ["0x7f.1", "hexadecimal"],
      ["127.1", "four decimal octets"],
      ["127.0.1", "four decimal octets"],
      ["2130706433", "four decimal octets"],
      ["1.2.3.4.5", "four decimal octets"],
      ["1.2.3.256", "out of range"],
      ["1.2.3.-1", "not a decimal"],
      ["1.2.3.+1", "not a decimal"],
      ["１.2.3.4", "not a decimal"],
      ["1.2.3.4/33", "out of range for IPv4"],
      ["::/129", "out of range for IPv6"],
      ["1.2.3.4/-1", "without sign or leading zeros"],
      ["1.2.3.4/+8", "without sign or leading zeros"],
      ["10.0.0.0/08", "without sign or leading zeros"],
      ["10.0.0.0/024", "without sign or leading zeros"],
      ["10.0.0.0/1e1", "without sign or leading zeros"],
      ["10.0.0.0/", "missing prefix length"],
      ["/24", "missing address"],
      ["10.0.0.0/24/24", "more than one"],
      ["10.0.0.0//24", "more than one"],
      ["fe80::1%eth0", "zone ids"],
      ["fe80::%1/64", "zone ids"],
      ["10.0.0.1/24", "host bits set; did you mean 10.0.0.0/24?"],
      ["2001:db8::1/64", "host bits set; did you mean 2001:db8::/64?"],
      ["0.0.0.0/0", "any source"],
      ["::/0", "any source"],
      ["10.0.0.0/8", "wider than the policy allows for IPv4 (at least /16)"],
      ["2001:db8::/32", "wider than the policy allows for IPv6 (at least /48)"],
      ["::ffff:1.2.3.4", "use the IPv4 form 1.2.3.4/32"],
      ["::FFFF:1.2.3.0/120", "use the IPv4 form 1.2.3.0/24"],
      ["::ffff:102:304", "use the IPv4 form 1.2.3.4/32"],
      ["0:0:0:0:0:ffff:a00:0/104", "use the IPv4 form 10.0.0.0/8"],
      ["::ffff:0:0/96", "IPv4-mapped"],
      ["::ffff:1.2.3.4/64", "IPv4-mapped IPv6 addresses are not accepted; use an IPv4 range"],
      ["::/80", "covers the IPv4-mapped block"],
      ["::1.2.3.4", "dotted IPv4 notation"],
      ["64:ff9b::1.2.3.4", "dotted IPv4 notation"],
      ["::ffff:01.2.3.4", "leading zeros"],
      ["1::2::3", "only once"],
      ["1:::2", "invalid IPv6 group"],
      [":1::", "invalid IPv6 group"],
      ["1:2:3:4:5:6:7:8:9", "eight groups"],
      ["1:2:3:4:5:6:7", "eight groups"],
      ["1:2:3:4:5:6:7:8::", "too many groups"],
      ["12345::", "invalid IPv6 group"],
      ["g::", "invalid IPv6 group"],
      ["[2001:db8::1]", "invalid IPv6 group"],
      ["localhost", "four decimal octets"]
    ]
    for (const [input, reason] of cases) {
      const message = messageOf(input)
      assert.include(message, reason, `${JSON.stringify(input)} -> ${message}`)
    }
  })

  it("honours the policy: any source and minimum prefixes", () => {
    const open: Cidr.CidrPolicy = { minPrefixV4: 16, minPrefixV6: 48, allowAnySource: true }
    assert.strictEqual(cidrOf("0.0.0.0/0", open), "0.0.0.0/0")
    assert.strictEqual(cidrOf("::/0", open), "::/0")
    assert.include(messageOf("10.0.0.0/8", open), "wider than the policy")
    const wide: Cidr.CidrPolicy = { minPrefixV4: 8, minPrefixV6: 32, allowAnySource: false }
    assert.strictEqual(cidrOf("10.0.0.0/8", wide), "10.0.0.0/8")
    assert.strictEqual(cidrOf("2001:db8::/32", wide), "2001:db8::/32")
    assert.include(messageOf("0.0.0.0/0", wide), "any source")
    assert.deepStrictEqual(Cidr.defaultPolicy, { minPrefixV4: 16, minPrefixV6: 48, allowAnySource: false })
  })

  it.effect("parse fails with a typed InvalidCidr carrying the input", () =>
    Effect.gen(function* () {
      const parsed = yield* Cidr.parse("192.0.2.0/24")
      assert.strictEqual(parsed.cidr, "192.0.2.0/24")
      const error = yield* Effect.flip(Cidr.parse("192.0.2.1/24"))
      assert.instanceOf(error, Cidr.InvalidCidr)
      assert.strictEqual(error._tag, "InvalidCidr")
      assert.strictEqual(error.input, "192.0.2.1/24")
      assert.include(error.message, "did you mean 192.0.2.0/24?")
    })
  )
})

describe("Cidr schemas", () => {
  it.effect("CidrSchema canonicalises user input under the default policy", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* Schema.decodeUnknownEffect(Cidr.CidrSchema)("2001:DB8::/48"), "2001:db8::/48")
      assert.strictEqual(yield* Schema.decodeUnknownEffect(Cidr.CidrSchema)("198.51.100.7"), "198.51.100.7/32")
      const anySource = yield* Effect.flip(Schema.decodeUnknownEffect(Cidr.CidrSchema)("0.0.0.0/0"))
      assert.include(anySource.message, "any source")
      const notString = yield* Effect.flip(Schema.decodeUnknownEffect(Cidr.CidrSchema)(42))
      assert.strictEqual(notString._tag, "SchemaError")
      const value = yield* Schema.decodeUnknownEffect(Cidr.CidrSchema)("10.1.0.0/16")
      assert.strictEqual(yield* Schema.encodeEffect(Cidr.CidrSchema)(value), "10.1.0.0/16")
    })
  )

  it.effect("makeCidrSchema applies its policy; the stored Cidr schema accepts only canonical text", () =>
    Effect.gen(function* () {
      const open = Cidr.makeCidrSchema(permissive)
      assert.strictEqual(yield* Schema.decodeUnknownEffect(open)("0.0.0.0/0"), "0.0.0.0/0")
      assert.strictEqual(yield* Schema.decodeUnknownEffect(Cidr.Cidr)("0.0.0.0/0"), "0.0.0.0/0")
      assert.strictEqual(yield* Schema.decodeUnknownEffect(Cidr.Cidr)("2001:db8::/48"), "2001:db8::/48")
      const upper = yield* Effect.flip(Schema.decodeUnknownEffect(Cidr.Cidr)("2001:DB8::/48"))
      assert.include(upper.message, "canonical")
      const bare = yield* Effect.flip(Schema.decodeUnknownEffect(Cidr.Cidr)("10.0.0.1"))
      assert.include(bare.message, "canonical")
      const hostBits = yield* Effect.flip(Schema.decodeUnknownEffect(Cidr.Cidr)("10.0.0.1/8"))
      assert.include(hostBits.message, "host bits")
    })
  )
})

describe("Cidr addresses and contains", () => {
  it("canonicalAddress and family read addresses strictly and fold IPv4-mapped IPv6", () => {
    const cases: ReadonlyArray<[string, string | undefined, 4 | 6 | undefined]> = [
      ["127.0.0.1", "127.0.0.1", 4],
      ["::ffff:127.0.0.1", "127.0.0.1", 4],
      ["::FFFF:7f00:1", "127.0.0.1", 4],
      ["0:0:0:0:0:ffff:7f00:1", "127.0.0.1", 4],
      ["2001:DB8:0::1", "2001:db8::1", 6],
      ["::1", "::1", 6],
      ["::1.2.3.4", "::102:304", 6],
      ["64:ff9b::192.0.2.33", "64:ff9b::c000:221", 6],
      ["127.1", undefined, undefined],
      ["0127.0.0.1", undefined, undefined],
      ["fe80::1%eth0", undefined, undefined],
      ["10.0.0.0/8", undefined, undefined],
      [" 10.0.0.1", undefined, undefined],
      ["", undefined, undefined],
      ["::ffff:1.2.3.04", undefined, undefined]
    ]
    for (const [input, canonical, family] of cases) {
      assert.strictEqual(Cidr.canonicalAddress(input), canonical, input)
      assert.strictEqual(Cidr.family(input), family, input)
    }
  })

  it("contains examples: mapped addresses match IPv4 ranges, bad input matches nothing", () => {
    assert.isTrue(Cidr.contains("10.0.0.0/8", "10.200.3.4"))
    assert.isTrue(Cidr.contains("10.0.0.0/8", "::ffff:10.200.3.4"))
    assert.isTrue(Cidr.contains("10.0.0.0/8", "::ffff:ac8:304"))
    assert.isFalse(Cidr.contains("10.0.0.0/8", "11.0.0.1"))
    assert.isTrue(Cidr.contains("0.0.0.0/0", "::ffff:1.1.1.1"))
    assert.isFalse(Cidr.contains("::/0", "::ffff:1.1.1.1"))
    assert.isTrue(Cidr.contains("::/0", "2001:db8::1"))
    assert.isTrue(Cidr.contains("2001:db8::/32", "2001:DB8:0:0::5"))
    assert.isFalse(Cidr.contains("2001:db8::/32", "127.0.0.1"))
    assert.isTrue(Cidr.contains("198.51.100.7", "198.51.100.7"))
    for (const [cidr, address] of [
      ["10.0.0.1/8", "10.0.0.1"],
      ["010.0.0.0/8", "10.0.0.1"],
      ["10.0.0.0/8", "010.0.0.1"],
      ["10.0.0.0/8", "10.1"],
      ["", "10.0.0.1"],
      ["10.0.0.0/8", ""],
      ["fe80::/64", "fe80::1%eth0"],
      ["::ffff:10.0.0.0/104", "10.0.0.1"]
    ] as const) {
      assert.isFalse(Cidr.contains(cidr, address), `${cidr} ∋ ${address}`)
    }
  })
})

describe("Cidr properties", () => {
  it("any spelling of a network parses to the reference canonical text, exactly when the reference policy accepts it", () => {
    fc.assert(
      fc.property(spelledNetwork, policyArb, ({ network, text }, policy) => {
        const result = Cidr.parseResult(text, policy)
        assert.strictEqual(Result.isSuccess(result), refAccepts(network, policy), `${text}: ${messageOf(text, policy)}`)
        if (Result.isSuccess(result)) {
          assert.strictEqual(result.success.cidr, refCanonical(network))
          assert.strictEqual(result.success.family, network.family)
          assert.strictEqual(result.success.prefixLength, network.prefix)
          assert.strictEqual(result.success.network, refAddressText(network.family, network.value))
        }
      }),
      { numRuns: 5_000 }
    )
  })

  it("canonical text is a fixed point: parse(parse(x).cidr) == parse(x)", () => {
    const inputs = fc.oneof(
      spelledNetwork.map(({ text }) => text),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:./"), maxLength: 45 })
    )
    fc.assert(
      fc.property(inputs, (input) => {
        const first = Cidr.parseResult(input, permissive)
        if (Result.isFailure(first)) return
        const again = Cidr.parseResult(first.success.cidr, permissive)
        assert.isTrue(Result.isSuccess(again))
        if (Result.isSuccess(again)) assert.deepStrictEqual(again.success, first.success)
        assert.strictEqual(Cidr.canonicalAddress(first.success.network), first.success.network)
      }),
      { numRuns: 5_000 }
    )
  })

  it("contains agrees with the bit-level reference (IPv4, IPv6, IPv4-mapped addresses)", () => {
    const all128 = (1n << 128n) - 1n
    const caseArb = networkArb.chain((network) =>
      fc.record({
        network: fc.constant(network),
        near: fc.boolean(),
        other: network.family === 4 ? v4Value : v6Value,
        mapped: fc.boolean()
      })
    )
    fc.assert(
      fc.property(caseArb, ({ network, near, other, mapped }) => {
        fc.pre(network.family === 4 || !overlaps(network, mappedBlock) || network.prefix === 0)
        const mask = maskOf(network.family, network.prefix)
        // half the time pick an address that shares the network bits
        const address = near ? network.value | (other & ~mask & all128) : other
        const isMappedV6 = network.family === 6 && overlaps({ family: 6, value: address, prefix: 128 }, mappedBlock)
        const expected = isMappedV6 ? false : refContains(network, network.family, address)
        const text = network.family === 4 && mapped ? `::ffff:${v4Text(address)}` : refAddressText(network.family, address)
        assert.strictEqual(Cidr.contains(refCanonical(network), text), expected, `${refCanonical(network)} ∋ ${text}`)
        // an address of the other family never matches
        const foreign = network.family === 4 ? "2001:db8::1" : "192.0.2.1"
        assert.isFalse(Cidr.contains(refCanonical(network), foreign))
      }),
      { numRuns: 5_000 }
    )
  })

  it("random strings never throw: parse yields a value or an InvalidCidr", () => {
    const strings = fc.oneof(
      fc.string({ unit: "binary", maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefxX:./%- \t"), maxLength: 70 })
    )
    fc.assert(
      fc.property(strings, policyArb, (input, policy) => {
        const result = Cidr.parseResult(input, policy)
        if (Result.isFailure(result)) {
          assert.instanceOf(result.failure, Cidr.InvalidCidr)
          assert.isAbove(result.failure.message.length, 0)
        }
        Cidr.contains(input, input)
        Cidr.canonicalAddress(input)
        Cidr.family(input)
      }),
      { numRuns: 10_000 }
    )
  })

  it("inputs of a wrong type from untyped callers fail without throwing", () => {
    for (const value of [undefined, null, 42, {}, ["10.0.0.0/8"]]) {
      const result = Cidr.parseResult(value as unknown as string)
      assert.isTrue(Result.isFailure(result))
      assert.isFalse(Cidr.contains(value as unknown as string, "10.0.0.1"))
      assert.isUndefined(Cidr.canonicalAddress(value as unknown as string))
    }
  })

  it("a leading zero added to any IPv4 octet is always rejected", () => {
    const arb = fc.tuple(v4Value, fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 2 }))
    fc.assert(
      fc.property(arb, fc.boolean(), fc.boolean(), (tuple, mapped, asAddress) => {
        const [value, prefix, octet, zeros] = tuple
        const network = value & maskOf(4, prefix)
        const octets = v4Text(network).split(".")
        octets[octet] = "0".repeat(zeros) + octets[octet]
        const text = (mapped ? "::ffff:" : "") + octets.join(".")
        assert.include(messageOf(`${text}/${prefix}`, permissive), "leading zeros")
        if (asAddress) assert.isUndefined(Cidr.canonicalAddress(text))
        assert.isFalse(Cidr.contains(`${octets.join(".")}/${prefix}`, v4Text(network)))
      }),
      { numRuns: 2_000 }
    )
  })
})
