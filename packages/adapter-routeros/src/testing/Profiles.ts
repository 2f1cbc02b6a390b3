/**
 * RouterOS version profiles of the simulator: what differs between `legacy` (< 6.43),
 * `v6` (6.43–6.49), `v7` (7.0–7.17) and `v7.18` (≥ 7.18).
 *
 * @since 0.1.0
 */

/**
 * A version profile name.
 *
 * @category models
 * @since 0.1.0
 */
export type VersionProfile = "legacy" | "v6" | "v7" | "v7.18"

/**
 * The behaviour switches of a profile.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProfileTraits {
  /** Printed by `/system/resource/print`. */
  readonly version: string
  /** Answers `/login =name= =password=` directly (post-6.43) [DOC A1]; otherwise with a challenge [OBS I10]. */
  readonly plainLogin: boolean
  /** Answers a bare `/login` with a challenge; 6.47.6 still does [OBS I9]. */
  readonly challengeLogin: boolean
  /** Failed-login trap text: `cannot log in` before 6.43 [OBS I10], later `invalid user name or password (6)` [OBS I9]. */
  readonly badLoginText: string
  /** Sends `!empty` before `!done` on prints with no rows (RouterOS ≥ 7.18) [DOC A1][OBS I7]. */
  readonly emptyReply: boolean
  /** ISO dates in `/system/clock` (v7.10+ per [DOC A3 sample]; exact version [??]). */
  readonly isoDates: boolean
  /** The three default groups' policy strings [DOC A2, current and older revision]. */
  readonly groups: Readonly<Record<"read" | "write" | "full", string>>
}

const v7Groups = {
  read: "local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!write,!policy",
  write: "local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!policy",
  full: "local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,romon,rest-api"
} as const

const v6Groups = {
  read: "local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,sensitive,api,romon,tikapp,!ftp,!write,!policy,!dude",
  write: "local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,sensitive,api,romon,tikapp,!ftp,!policy,!dude",
  full: "local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,romon,dude,tikapp"
} as const

/**
 * The traits of each profile.
 *
 * @category constructors
 * @since 0.1.0
 */
export const profiles: Readonly<Record<VersionProfile, ProfileTraits>> = {
  legacy: {
    version: "6.42.12 (long-term)",
    plainLogin: false,
    challengeLogin: true,
    badLoginText: "cannot log in",
    emptyReply: false,
    isoDates: false,
    groups: v6Groups
  },
  v6: {
    version: "6.49.17 (long-term)",
    plainLogin: true,
    challengeLogin: true,
    badLoginText: "invalid user name or password (6)",
    emptyReply: false,
    isoDates: false,
    groups: v6Groups
  },
  v7: {
    version: "7.16.2 (stable)",
    plainLogin: true,
    challengeLogin: false,
    badLoginText: "invalid user name or password (6)",
    emptyReply: false,
    isoDates: true,
    groups: v7Groups
  },
  "v7.18": {
    version: "7.19.4 (stable)",
    plainLogin: true,
    challengeLogin: false,
    badLoginText: "invalid user name or password (6)",
    emptyReply: true,
    isoDates: true,
    groups: v7Groups
  }
}

/**
 * The positive policies of a policy string (`!x` entries dropped).
 *
 * @category constructors
 * @since 0.1.0
 */
export const policySet = (policy: string): ReadonlySet<string> =>
  new Set(
    policy
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "" && !entry.startsWith("!"))
  )
