/**
 * Tests of credential generation: shape and uniqueness properties, a chi-square test of
 * the alphabet's use (shown to reject a deliberately biased `byte % 62` generator), that
 * `Redacted` never leaks, and the connection hints `issue` builds. Failing fast-check
 * properties print their seed and path.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as fc from "fast-check"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { format, inspect } from "node:util"
import * as Credentials from "../src/Credentials.ts"

// ---------------------------------------------------------------------------------------
// Chi-square p-value: Q(k/2, x/2), the regularised upper incomplete gamma function
// (series below a + 1, Lentz continued fraction above; Numerical Recipes §6.2).
// ---------------------------------------------------------------------------------------

const lanczos = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
]
const logGamma = (z: number): number => {
  const x = z - 1
  let sum = lanczos[0] ?? 0
  for (let index = 1; index < lanczos.length; index++) sum += (lanczos[index] ?? 0) / (x + index)
  const t = x + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum)
}
const upperRegularizedGamma = (a: number, x: number): number => {
  const prefactor = Math.exp(-x + a * Math.log(x) - logGamma(a))
  if (x < a + 1) {
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
      term *= x / (a + n)
      sum += term
    }
    return 1 - sum * prefactor
  }
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return prefactor * h
}
const chiSquarePValue = (statistic: number, degreesOfFreedom: number) => upperRegularizedGamma(degreesOfFreedom / 2, statistic / 2)

/** Pearson's statistic of observed counts against equal expected counts. */
const chiSquareUniform = (counts: ReadonlyArray<number>): number => {
  const total = counts.reduce((sum, count) => sum + count, 0)
  const expected = total / counts.length
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
}

/**
 * A generator fails when a p-value is below this. A correct generator yields uniform
 * p-values, so each of the four statistics below rejects it with probability 2e-7, and the
 * whole file with probability below 1e-6 (union bound).
 */
const rejectBelow = 2e-7

const sampleCharacters = 200_000
const passwordsNeeded = Math.ceil(sampleCharacters / Credentials.passwordLength)

interface Verdict {
  readonly overall: number
  readonly byPosition: number
}

/** p-values of the overall character frequencies and of the (position, character) table. */
const uniformity = (passwords: ReadonlyArray<string>, alphabet: string): Verdict => {
  const index = new Map([...alphabet].map((character, position) => [character, position]))
  const overall = new Array<number>(alphabet.length).fill(0)
  const length = passwords[0]?.length ?? 0
  const byPosition = Array.from({ length }, () => new Array<number>(alphabet.length).fill(0))
  for (const password of passwords) {
    for (let position = 0; position < password.length; position++) {
      const slot = index.get(password[position] ?? "")
      if (slot === undefined) throw new Error(`character outside the alphabet in a sample`)
      overall[slot] = (overall[slot] ?? 0) + 1
      const row = byPosition[position]
      if (row !== undefined) row[slot] = (row[slot] ?? 0) + 1
    }
  }
  const df = alphabet.length - 1
  const positional = byPosition.reduce((sum, row) => sum + chiSquareUniform(row), 0)
  return {
    overall: chiSquarePValue(chiSquareUniform(overall), df),
    byPosition: chiSquarePValue(positional, df * length)
  }
}

/** The classic mistake: `byte % 62` favours the first 256 mod 62 = 8 characters by 25 %. */
const biasedPassword = (): string =>
  [...randomBytes(Credentials.passwordLength)].map((byte) => Credentials.passwordAlphabet[byte % 62]).join("")

// ---------------------------------------------------------------------------------------

describe("Credentials constants", () => {
  it("the password alphabet is A-Z a-z 0-9, 24 characters, over 128 bits", () => {
    assert.strictEqual(Credentials.passwordAlphabet.length, 62)
    assert.strictEqual(new Set(Credentials.passwordAlphabet).size, 62)
    assert.match(Credentials.passwordAlphabet, /^[A-Za-z0-9]+$/)
    assert.strictEqual(Credentials.passwordLength, 24)
    assert.closeTo(Credentials.passwordEntropyBits, 142.9, 0.05)
    assert.isAtLeast(Credentials.passwordEntropyBits, 128)
  })

  it("every alphabet character is inert in URLs, POSIX shells and the RouterOS CLI", () => {
    for (const character of Credentials.passwordAlphabet) {
      assert.strictEqual(encodeURIComponent(character), character)
      // POSIX shell: not a metacharacter, quote, glob, expansion or whitespace
      assert.notInclude("|&;<>()$`\\\"' \t\n*?[]#~=%!{},^", character)
      // RouterOS CLI: not a quote, escape, variable, help, separator or comment character
      assert.notInclude('"\\$?;# []{}', character)
    }
    assert.strictEqual(Credentials.usernamePrefix, "ta-")
  })
})

describe("Credentials generation", () => {
  it("generated usernames and passwords always have the validated shape", () => {
    fc.assert(
      fc.property(fc.integer(), () => {
        const username = Credentials.generateUsername()
        assert.isTrue(Credentials.isValidUsername(username), username)
        // RouterOS (routeros.md §4.3): starts and ends alphanumeric, lower case, at most 24 characters
        assert.match(username, /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/)
        assert.isAtMost(username.length, 24)
        const password = Redacted.value(Credentials.generatePassword())
        assert.isTrue(Credentials.isValidPassword(password))
        assert.strictEqual(password.length, 24)
      }),
      { numRuns: 2_000 }
    )
  })

  it("isValidUsername / isValidPassword accept only the generated shapes", () => {
    const username = Credentials.generateUsername()
    const password = Redacted.value(Credentials.generatePassword())
    const mutate = (text: string) =>
      fc
        .oneof(
          fc.nat({ max: text.length - 1 }).map((at) => text.slice(0, at) + text.slice(at + 1)),
          fc.tuple(fc.nat({ max: text.length }), fc.constantFrom(..."aZ0_-")).map(([at, c]) => text.slice(0, at) + c + text.slice(at)),
          fc
            .tuple(fc.nat({ max: text.length - 1 }), fc.constantFrom(...' $"\\;?é\u0000\n-._'))
            .map(([at, c]) => text.slice(0, at) + c + text.slice(at + 1))
        )
        .filter((changed) => changed !== text)
    fc.assert(
      fc.property(mutate(username), (bad) => assert.isFalse(Credentials.isValidUsername(bad), bad)),
      { numRuns: 2_000 }
    )
    fc.assert(
      fc.property(mutate(password), (bad) => assert.isFalse(Credentials.isValidPassword(bad))),
      { numRuns: 2_000 }
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        if (Credentials.isValidUsername(text)) assert.match(text, /^ta-[a-z0-9]{12}$/)
        if (Credentials.isValidPassword(text)) assert.match(text, /^[A-Za-z0-9]{24}$/)
      }),
      { numRuns: 2_000 }
    )
    assert.isFalse(Credentials.isValidUsername("TA-abcdefghijkl"))
    assert.isFalse(Credentials.isValidUsername("ta-ABCDEFGHIJKL"))
    assert.isFalse(Credentials.isValidUsername(undefined as unknown as string))
    assert.isFalse(Credentials.isValidPassword(undefined as unknown as string))
  })

  it("100,000 usernames and 100,000 passwords contain no duplicate", () => {
    const usernames = new Set(Array.from({ length: 100_000 }, Credentials.generateUsername))
    assert.strictEqual(usernames.size, 100_000)
    const passwords = new Set(Array.from({ length: 100_000 }, () => Redacted.value(Credentials.generatePassword())))
    assert.strictEqual(passwords.size, 100_000)
  })

  it("the p-value function matches tabulated chi-square values", () => {
    assert.closeTo(chiSquarePValue(3.841458820694124, 1), 0.05, 1e-9)
    assert.closeTo(chiSquarePValue(79.08194448784874, 60), 0.05, 1e-9)
    assert.closeTo(chiSquarePValue(124.3421134, 100), 0.05, 1e-8)
    assert.closeTo(chiSquarePValue(10, 2), Math.exp(-5), 1e-12) // df = 2 has the closed form e^(-x/2)
    // reference values from scipy.stats.chi2.sf
    assert.closeTo(chiSquarePValue(60, 60), 0.4757169861063199, 1e-10)
    assert.closeTo(chiSquarePValue(300, 200) / 5.924540335483916e-6, 1, 1e-8)
    assert.closeTo(chiSquarePValue(128.52421687158278, 61) / 1e-6, 1, 1e-6) // chi2(61) upper 1e-6 point
    assert.closeTo(chiSquarePValue(6.634896601021214, 1), 0.01, 1e-9)
  })

  it("passwords use the alphabet uniformly, overall and at each position (chi-square, reject below p = 2e-7)", () => {
    const passwords = Array.from({ length: passwordsNeeded }, () => Redacted.value(Credentials.generatePassword()))
    const verdict = uniformity(passwords, Credentials.passwordAlphabet)
    console.log(
      `chi-square over ${passwordsNeeded * 24} characters: p(overall)=${verdict.overall.toExponential(3)} p(by position)=${verdict.byPosition.toExponential(3)}`
    )
    assert.isAbove(verdict.overall, rejectBelow)
    assert.isAbove(verdict.byPosition, rejectBelow)
  })

  it("the same chi-square test rejects a biased byte % 62 generator", () => {
    const passwords = Array.from({ length: passwordsNeeded }, biasedPassword)
    const verdict = uniformity(passwords, Credentials.passwordAlphabet)
    console.log(`biased generator: p(overall)=${verdict.overall.toExponential(3)}`)
    assert.isBelow(verdict.overall, rejectBelow)
  })

  it("usernames use [a-z0-9] uniformly (chi-square, reject below p = 2e-7)", () => {
    const randomParts = Array.from({ length: Math.ceil(sampleCharacters / 12) }, () =>
      Credentials.generateUsername().slice(Credentials.usernamePrefix.length)
    )
    const verdict = uniformity(randomParts, "abcdefghijklmnopqrstuvwxyz0123456789")
    assert.isAbove(verdict.overall, rejectBelow)
    assert.isAbove(verdict.byPosition, rejectBelow)
  })

  it("randomness comes from node:crypto only (no Math.random, no Effect Random)", () => {
    for (const file of ["../src/Credentials.ts", "../src/internal/randomToken.ts"]) {
      const source = readFileSync(new URL(file, import.meta.url), "utf8")
      assert.notInclude(source, "Math.random(")
      assert.notMatch(source, /from "effect\/Random"/)
    }
    assert.include(readFileSync(new URL("../src/internal/randomToken.ts", import.meta.url), "utf8"), `from "node:crypto"`)
  })
})

describe("Credentials secrecy and issue", () => {
  const password = Credentials.generatePassword()
  const clear = Redacted.value(password)
  const username = Credentials.generateUsername()

  it("a password never appears in String(), JSON, util.inspect or util.format", () => {
    const issued = Credentials.issue({ username, password, host: "203.0.113.10", port: 40_022, accessType: "ssh" })
    const renderings = [
      String(password),
      `${password}`,
      JSON.stringify(password),
      JSON.stringify(issued),
      JSON.stringify({ ...issued }),
      inspect(password),
      inspect(password, { showHidden: true, depth: null, getters: true }),
      inspect(issued, { depth: null }),
      format("%s %o %O %j", password, issued, password, issued),
      String(Object.values(issued))
    ]
    for (const rendering of renderings) assert.notInclude(rendering, clear)
    assert.include(String(password), "redacted")
    assert.strictEqual(Redacted.value(issued.password), clear)
  })

  it("ssh grants get an ssh command, winbox grants a host:port ([v6]:port) address", () => {
    const ssh = Credentials.issue({ username, password, host: "gw-1.Example.net", port: 40_022, accessType: "ssh" })
    assert.deepStrictEqual(
      { ...ssh, password: null },
      {
        username,
        password: null,
        host: "gw-1.example.net",
        port: 40_022,
        sshCommand: `ssh -p 40022 ${username}@gw-1.example.net`,
        winboxAddress: null
      }
    )
    const sshV6 = Credentials.issue({ username, password, host: "2001:DB8::10", port: 40_022, accessType: "ssh" })
    assert.strictEqual(sshV6.sshCommand, `ssh -p 40022 ${username}@2001:db8::10`)
    const winbox = Credentials.issue({ username, password, host: "203.0.113.10", port: 48_291, accessType: "winbox" })
    assert.strictEqual(winbox.winboxAddress, "203.0.113.10:48291")
    assert.isNull(winbox.sshCommand)
    const winboxV6 = Credentials.issue({ username, password, host: "2001:db8::10", port: 48_291, accessType: "winbox" })
    assert.strictEqual(winboxV6.winboxAddress, "[2001:db8::10]:48291")
    const mapped = Credentials.issue({ username, password, host: "::ffff:203.0.113.10", port: 48_291, accessType: "winbox" })
    assert.strictEqual(mapped.winboxAddress, "203.0.113.10:48291")
  })

  it("issue refuses values the SDK never generates, without echoing the password", () => {
    const valid = { username, password, host: "203.0.113.10", port: 40_022, accessType: "ssh" as const }
    const invalid: ReadonlyArray<Record<string, unknown>> = [
      { username: "admin" },
      { username: `${username};reboot` },
      { password: Redacted.make("short") },
      { password: Redacted.make(`${clear.slice(0, 23)}$`) },
      { password: clear },
      { host: "" },
      { host: "gw.example.com; rm -rf /" },
      { host: "$(reboot)" },
      { host: "127.1" },
      { host: "-oProxyCommand=x" },
      { host: "gw..example.com" },
      { host: "fe80::1%eth0" },
      { host: "[2001:db8::1]" },
      { port: 0 },
      { port: 65_536 },
      { port: 22.5 },
      { accessType: "telnet" }
    ]
    for (const change of invalid) {
      try {
        Credentials.issue({ ...valid, ...change } as typeof valid)
        assert.fail(`accepted ${JSON.stringify(Object.keys(change))}`)
      } catch (error) {
        assert.instanceOf(error, Credentials.InvalidIssueInput)
        assert.notInclude(inspect(error), clear)
      }
    }
  })
})
