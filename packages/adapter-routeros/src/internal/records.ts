/**
 * The RouterOS records the SDK writes for a grant — the user, the dst-nat rule, the expiry
 * scheduler entry with its name, comment and script — and the checks their inputs pass,
 * shared by the push gateway (`menuGateway.ts`), the pull job scripts (`jobScript.ts`) and
 * the pull gateway (`PullGateway`) so all write and read the same artifacts and refuse the
 * same inputs.
 *
 * @since 0.2.0
 */
import { isIP } from "node:net"
import * as Redacted from "effect/Redacted"
import { Credentials, type DeviceGateway, Grant } from "@transient-access/core"
import { command, findWhere } from "../RosScript.ts"
import { formatDate, formatTime } from "./rosTime.ts"

/** Group per permission when none is configured. */
export const defaultGroups: Readonly<Record<Grant.Permission, string>> = { full: "full", "read-only": "read" }

/** Policy of the expiry (and check-in) scheduler entries when none is configured. */
export const defaultSchedulerPolicy = "read,write,policy,test"

/** The SDK's user names (core `Credentials`: `ta-` + lower-case alphanumerics). */
const usernamePattern = /^ta-[a-z0-9]{4,32}$/

const validAddress = (address: string): boolean => {
  const [host, bits, ...rest] = address.split("/")
  return rest.length === 0 && host !== undefined && isIP(host) !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits))
}

/** Why a user spec cannot be written to a device, or `undefined` when it can. */
export const userSpecProblem = (spec: DeviceGateway.DeviceUserSpec): string | undefined =>
  !usernamePattern.test(spec.username)
    ? `username not valid on RouterOS: ${spec.username}`
    : !validAddress(spec.allowedAddress)
      ? `invalid address ${spec.allowedAddress}`
      : undefined

/** Why a forward spec cannot be written to a device, or `undefined` when it can. */
export const forwardSpecProblem = (forward: DeviceGateway.DeviceForwardSpec): string | undefined =>
  !validAddress(forward.allowedAddress) || isIP(forward.to.address) === 0 ? "invalid forward address" : undefined

/**
 * Whether a listed user is the SDK's: tagged `ta:<grant>`, or named exactly as the SDK names
 * users. An operator's login such as `ta-sdk` is not (the reconciler would remove it).
 */
export const isOwnUser = (name: string, comment: string): boolean =>
  Grant.parseArtifactTag(comment) !== undefined || Credentials.isValidUsername(name)

const withPrefix = (address: string): string =>
  address.includes("/") ? address : address.includes(":") ? `${address}/128` : `${address}/32`

/**
 * The comment of an expiry entry: the artifact tag plus the exact control-plane expiry (the
 * device only keeps seconds, in its own clock).
 */
export const schedulerComment = (tag: string, expiresAt: number): string => `${tag}|exp=${expiresAt}`

/** Reads the exact expiry back from an expiry entry's comment. */
export const expiryOfComment = (comment: string | undefined): number | undefined => {
  const match = /\|exp=(\d+)$/.exec(comment ?? "")
  return match ? Number(match[1]) : undefined
}

/** The expiry scheduler entry of a user. */
export const userSchedulerName = (username: string): string => `ta-exp-${username}`

/** The expiry scheduler entry of a forward. */
export const forwardSchedulerName = (grantId: string): string => `ta-fwd-${grantId}`

/**
 * The device-side expiry script of a user: disable, log out every session, remove the user,
 * remove this scheduler entry [DESIGN "Dead on time"; DOC A2 request-logout].
 */
export const userExpiryScript = (username: string, schedulerName: string): string =>
  [
    command(["user"], "disable", {}, [findWhere("name", username)]),
    command(["user", "active"], "request-logout", {}, [findWhere("name", username)]),
    command(["user"], "remove", {}, [findWhere("name", username)]),
    command(["system", "scheduler"], "remove", {}, [findWhere("name", schedulerName)])
  ].join("; ")

/** The device-side expiry script of a forward: remove the NAT rule and this scheduler entry. */
export const forwardExpiryScript = (tag: string, schedulerName: string): string =>
  [
    command(["ip", "firewall", "nat"], "remove", {}, [findWhere("comment", tag)]),
    command(["system", "scheduler"], "remove", {}, [findWhere("name", schedulerName)])
  ].join("; ")

/** The `/user add` attributes of a grant's user (created disabled; the password in clear, for the transport only). */
export const userRecord = (spec: DeviceGateway.DeviceUserSpec, group: string): Readonly<Record<string, string>> => ({
  name: spec.username,
  password: Redacted.value(spec.password),
  group,
  address: withPrefix(spec.allowedAddress),
  comment: Grant.artifactTag(spec.grantId),
  disabled: "yes"
})

/** The `/ip firewall nat add` attributes of a grant's forward (created disabled: the forward fence). */
export const forwardRecord = (forward: DeviceGateway.DeviceForwardSpec, dstAddress: string): Readonly<Record<string, string>> => ({
  chain: "dstnat",
  action: "dst-nat",
  protocol: "tcp",
  "dst-address": dstAddress,
  "dst-port": String(forward.listenPort),
  "src-address": forward.allowedAddress,
  "to-addresses": forward.to.address,
  "to-ports": String(forward.to.port),
  comment: Grant.artifactTag(forward.grantId),
  disabled: "yes"
})

/**
 * The `/system scheduler add` attributes of a one-shot expiry entry firing `script` at the
 * control-plane instant `at`, on a device whose clock is `deviceOffset` ms ahead. The device
 * prints whole seconds, so the measured offset may be up to 1 s early: 1 s is added so the
 * entry never fires before `at` (it fires within ~2 s after it).
 */
export const expiryRecord = (entry: {
  readonly name: string
  readonly comment: string
  readonly at: number
  readonly deviceOffset: number
  readonly iso: boolean
  readonly policy: string
  readonly script: string
}): Readonly<Record<string, string>> => {
  const when = Math.ceil((entry.at + entry.deviceOffset + 1000) / 1000) * 1000
  return {
    name: entry.name,
    "start-date": formatDate(when, entry.iso),
    "start-time": formatTime(when),
    interval: "0s",
    policy: entry.policy,
    comment: entry.comment,
    "on-event": entry.script
  }
}
