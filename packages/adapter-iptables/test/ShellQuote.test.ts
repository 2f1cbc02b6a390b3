/**
 * The one escaping function: for any argument vector without NUL, a POSIX shell's word
 * splitting of `quoteArgv(argv)` gives back exactly `argv` (checked with dash and bash).
 */
import { execFileSync } from "node:child_process"
import * as fc from "fast-check"
import { assert, describe, it } from "vitest"
import { quoteArgv, UnquotableArgument } from "../src/internal/shellQuote.ts"

const special = [
  "'",
  '"',
  "$",
  "`",
  "\\",
  "\n",
  "\t",
  " ",
  "*",
  "?",
  "[",
  "!",
  "~",
  "#",
  ";",
  "&",
  "|",
  "(",
  ")",
  "{",
  "}",
  "<",
  ">",
  "$(id)",
  "'\\''",
  "é",
  "€",
  "😀",
  "-n",
  "--"
]
const argument = fc.string({
  unit: fc.oneof(fc.constantFrom(...special), fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 })),
  maxLength: 12
})

/** What `shell -c <command>` passes to printf, split at the NULs printf writes after each. */
const roundTrip = (shell: string, argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const output = execFileSync(shell, ["-c", quoteArgv(["printf", "%s\\0", ...argv])], { encoding: "utf8" })
  return output.split("\u0000").slice(0, -1)
}

describe("quoteArgv", () => {
  for (const shell of ["/bin/sh", "/bin/bash"]) {
    it(`round-trips arbitrary arguments through ${shell}`, () => {
      fc.assert(
        fc.property(fc.array(argument, { minLength: 1, maxLength: 6 }), (argv) => {
          assert.deepStrictEqual(roundTrip(shell, argv), argv)
        }),
        { numRuns: 150 }
      )
    })
  }

  it("refuses NUL bytes and empty vectors", () => {
    assert.throws(() => quoteArgv(["a\u0000b"]), UnquotableArgument)
    assert.throws(() => quoteArgv([]), UnquotableArgument)
  })
})
