/**
 * The one escaping function of the package: turns an argument vector into the command
 * string an SSH `exec` request carries, for a POSIX shell on the far side (`sh`, `bash`,
 * `dash`, `zsh` in sh mode). Every argument is wrapped in single quotes, inside which a
 * POSIX shell interprets nothing; a single quote in an argument becomes `'\''`.
 *
 * Arguments containing a NUL byte cannot be passed through `exec` at all and are refused.
 *
 * @since 0.1.0
 */

/**
 * Raised for an argument that no shell command line can carry (it contains NUL).
 *
 * @category errors
 * @since 0.1.0
 */
export class UnquotableArgument extends Error {
  override readonly name = "UnquotableArgument"
}

/**
 * Quotes an argument vector for a POSIX shell: `["printf", "%s", "it's"]` becomes
 * `'printf' '%s' 'it'\''s'`. The shell's word splitting of the result gives back exactly
 * `argv`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const quoteArgv = (argv: ReadonlyArray<string>): string => {
  if (argv.length === 0) throw new UnquotableArgument("empty argument vector")
  return argv
    .map((argument) => {
      if (argument.includes("\u0000")) throw new UnquotableArgument("argument contains a NUL byte")
      return `'${argument.replaceAll("'", `'\\''`)}'`
    })
    .join(" ")
}
