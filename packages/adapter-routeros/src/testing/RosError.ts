/**
 * Errors the simulated RouterOS raises, with the texts RouterOS uses (sources in each
 * constant's comment; `[??]` marks texts no source confirmed, kept configurable-free but
 * documented as such).
 *
 * @since 0.1.0
 */

/**
 * A RouterOS command failure: becomes `!trap =message=… [=category=…]` over the API and an
 * error line in the CLI.
 *
 * @category errors
 * @since 0.1.0
 */
export class RosError extends Error {
  readonly category: number | undefined
  constructor(message: string, category?: number) {
    super(message)
    this.name = "RosError"
    this.category = category
  }
}

/**
 * Error texts of the simulator.
 *
 * @category constructors
 * @since 0.1.0
 */
export const texts = {
  /** [OBS I11, C2] real v6/v7 text for an unknown `.id`. */
  noSuchItem: "no such item (4)",
  /** [OBS I12] unknown command path. */
  noSuchCommand: "no such command prefix",
  /** [OBS I13] unknown attribute. */
  unknownParameter: "unknown parameter",
  /** [OBS-weak C3] duplicate user name (typo "exisits" is RouterOS'). */
  duplicateUser: "failure: user with the same name already exisits",
  /** [??] pattern of the manual's "input does not match any value of interface". */
  unknownGroup: "input does not match any value of group",
  /** [??] duplicate name in other menus (pattern of `failure: already have such entry` [OBS]). */
  duplicateName: "failure: item with such name already exists",
  /** [OBS I9] post-6.43 failed login (6.47.6 wire trace). */
  badLogin: "invalid user name or password (6)",
  /** [OBS I10] legacy failed login (6.42.4). */
  badLoginLegacy: "cannot log in",
  /** [??] missing policy for a command (RouterOS' exact API text not confirmed). */
  notEnoughPermissions: "not enough permissions (9)",
  /** [DOC A2] "cannot be removed" — the text itself is [??]. */
  lastFullUser: "failure: cannot remove last full user",
  /** [??] `dst-port` without tcp/udp protocol. */
  portNeedsProtocol: "failure: dst-port can be set only when protocol is tcp or udp",
  /** [DOC A1] `/cancel` of a running command: category 2. */
  interrupted: "interrupted",
  /** [??] missing required argument. */
  missingValue: (name: string) => `missing value for ${name}`,
  /** [??] invalid value. */
  invalidValue: (name: string, value: string) => `value of ${name} is invalid: ${value}`
} as const
