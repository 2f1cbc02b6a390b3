/**
 * Generated credentials for a temporary device user, and the connection hints shown with
 * them once.
 *
 * Randomness comes only from node's CSPRNG: `crypto.randomInt`, which draws uniformly
 * (rejection sampling, no modulo bias). Neither `Math.random` nor Effect's `Random` (a
 * seedable PRNG meant for jitter and tests) is used.
 *
 * - Usernames: `ta-` + 12 characters of `[a-z0-9]` (≈ 62 bits): unique in practice,
 *   recognisable by the reconciler, and valid RouterOS user names.
 * - Passwords: 24 characters of `[A-Za-z0-9]` (62^24 ≈ 2^142.9), held as `Redacted`. The
 *   alphabet needs no quoting or escaping in the RouterOS CLI and API, WinBox, POSIX
 *   shells or URLs (see docs/security-inputs.md).
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { canonicalAddress, family } from "./Cidr.ts"
import { lowerAlphanumeric, randomToken } from "./internal/randomToken.ts"

/**
 * The prefix of every user name the SDK creates; the reconciler recognises its own users by it.
 *
 * @category constants
 * @since 0.1.0
 */
export const usernamePrefix = "ta-"

const usernameRandomLength = 12
const usernamePattern = new RegExp(`^${usernamePrefix}[a-z0-9]{${usernameRandomLength}}$`)

/**
 * The characters a password is drawn from: `A-Z`, `a-z`, `0-9`.
 *
 * @category constants
 * @since 0.1.0
 */
export const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/**
 * Characters per password.
 *
 * @category constants
 * @since 0.1.0
 */
export const passwordLength = 24

/**
 * Entropy of a generated password in bits: `passwordLength · log2(62)` ≈ 142.9.
 *
 * @category constants
 * @since 0.1.0
 */
export const passwordEntropyBits = passwordLength * Math.log2(passwordAlphabet.length)

const passwordPattern = new RegExp(`^[A-Za-z0-9]{${passwordLength}}$`)

/**
 * A fresh user name: `ta-` + 12 random characters of `[a-z0-9]`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generateUsername = (): string => usernamePrefix + randomToken(usernameRandomLength, lowerAlphanumeric)

/**
 * A fresh password of {@link passwordLength} characters from {@link passwordAlphabet}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const generatePassword = (): Redacted.Redacted<string> =>
  Redacted.make(randomToken(passwordLength, passwordAlphabet), { label: "password" })

/**
 * Whether `name` has exactly the shape {@link generateUsername} produces.
 *
 * @category guards
 * @since 0.1.0
 */
export const isValidUsername = (name: string): boolean => typeof name === "string" && usernamePattern.test(name)

/**
 * Whether `password` has exactly the shape {@link generatePassword} produces.
 *
 * @category guards
 * @since 0.1.0
 */
export const isValidPassword = (password: string): boolean => typeof password === "string" && passwordPattern.test(password)

/**
 * What the caller is shown, once.
 *
 * @category models
 * @since 0.1.0
 */
export interface IssuedCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** The regional endpoint host (canonical text when it is an address). */
  readonly host: string
  readonly port: number
  /** `ssh -p <port> <user>@<host>` for `ssh` grants, else `null`. */
  readonly sshCommand: string | null
  /** `host:port` (`[v6]:port`) for `winbox` grants, else `null`. */
  readonly winboxAddress: string | null
}

/**
 * `issue` was handed a value the SDK never generates (a programming or configuration
 * error); thrown, never returned. The message names the field, never the password.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidIssueInput extends Schema.TaggedError<InvalidIssueInput>()("InvalidIssueInput", {
  message: Schema.String
}) {}

const dnsLabel = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
const hostnamePattern = new RegExp(`^(?=.{1,253}$)${dnsLabel}(?:\\.${dnsLabel})*$`)

/**
 * An address in canonical form, or a DNS name (letters, digits, `-`, `.`) whose last label
 * is not all digits (so `127.1` is not read as a name and then resolved as an address).
 */
const canonicalHost = (host: string): string | undefined => {
  const address = canonicalAddress(host)
  if (address !== undefined) return address
  if (!hostnamePattern.test(host) || /^[0-9]+$/.test(host.slice(host.lastIndexOf(".") + 1))) return undefined
  return host.toLowerCase()
}

/**
 * Assembles what the caller is shown. Every field is checked against the shapes the SDK
 * generates, so the hint strings contain nothing a shell or WinBox would interpret.
 *
 * @throws InvalidIssueInput when a field has an unexpected shape.
 * @category constructors
 * @since 0.1.0
 */
export const issue = (input: {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly host: string
  readonly port: number
  readonly accessType: "ssh" | "winbox"
}): IssuedCredentials => {
  if (!isValidUsername(input.username)) throw new InvalidIssueInput({ message: "username has an unexpected shape" })
  if (!Redacted.isRedacted(input.password) || !isValidPassword(Redacted.value(input.password))) {
    throw new InvalidIssueInput({ message: "password has an unexpected shape" })
  }
  const host = canonicalHost(input.host)
  if (host === undefined) throw new InvalidIssueInput({ message: "host is neither an IP address nor a DNS name" })
  if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65_535) {
    throw new InvalidIssueInput({ message: "port is not an integer in 1-65535" })
  }
  if (input.accessType !== "ssh" && input.accessType !== "winbox") {
    throw new InvalidIssueInput({ message: "accessType is neither ssh nor winbox" })
  }
  const isSsh = input.accessType === "ssh"
  return {
    username: input.username,
    password: input.password,
    host,
    port: input.port,
    sshCommand: isSsh ? `ssh -p ${input.port} ${input.username}@${host}` : null,
    winboxAddress: isSsh ? null : `${family(host) === 6 ? `[${host}]` : host}:${input.port}`
  }
}
