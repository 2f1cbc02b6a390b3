/**
 * The job script of a check-in response: each pending command rendered as idempotent
 * RouterOS script text (with the device's clock for expiry entries) and guarded by its
 * sequence number, so a replayed or duplicated response changes nothing.
 *
 * @since 0.1.0
 */
import { type DeviceGateway, Grant, type Ids } from "@transient-access/core"
import { command, findWhere, quote } from "../RosScript.ts"
import {
  defaultSchedulerPolicy,
  expiryRecord,
  forwardExpiryScript,
  forwardRecord,
  forwardSchedulerName,
  schedulerComment,
  userExpiryScript,
  userRecord,
  userSchedulerName
} from "./records.ts"

/**
 * A queued device command (rendered at check-in time, with the device's clock).
 *
 * @category models
 * @since 0.1.0
 */
export type PullCommand =
  | { readonly _tag: "CreateUser"; readonly spec: DeviceGateway.DeviceUserSpec; readonly group: string }
  | { readonly _tag: "EnableUser"; readonly username: string }
  | { readonly _tag: "RemoveUser"; readonly username: string }
  | { readonly _tag: "OpenForward"; readonly forward: DeviceGateway.DeviceForwardSpec; readonly dstAddress: string }
  | { readonly _tag: "EnableForward"; readonly grantId: Ids.GrantId }
  | { readonly _tag: "CloseForward"; readonly grantId: Ids.GrantId }
  /** Nothing to apply (e.g. a create whose password is gone): logs `note` on the device, still consumes the sequence. */
  | { readonly _tag: "Skip"; readonly note: string }

/** The `/system script` whose source is the last applied command sequence. */
export const sequenceScript = "ta-seq"

const ifAbsent = (menu: ReadonlyArray<string>, field: string, value: string, body: string): string =>
  `:if ([:len [/${menu.join(" ")} find where ${field}=${quote(value)}]] = 0) do={ ${body} }`

const scheduleAdd = (name: string, tag: string, at: number, script: string, deviceOffset: number, iso: boolean): string =>
  ifAbsent(
    ["system", "scheduler"],
    "name",
    name,
    command(
      ["system", "scheduler"],
      "add",
      expiryRecord({
        name,
        comment: schedulerComment(tag, at),
        at,
        deviceOffset,
        iso,
        policy: defaultSchedulerPolicy,
        script
      })
    )
  )

/**
 * Renders one command as script text (idempotent on the device).
 *
 * @category constructors
 * @since 0.1.0
 */
export const renderCommand = (cmd: PullCommand, deviceOffset: number, iso: boolean): string => {
  switch (cmd._tag) {
    case "CreateUser": {
      const { spec } = cmd
      const tag = Grant.artifactTag(spec.grantId)
      const schedule = userSchedulerName(spec.username)
      return [
        scheduleAdd(schedule, tag, spec.expiresAt, userExpiryScript(spec.username, schedule), deviceOffset, iso),
        ifAbsent(["user"], "name", spec.username, command(["user"], "add", userRecord(spec, cmd.group)))
      ].join("; ")
    }
    case "EnableUser":
      return command(["user"], "set", { disabled: "no" }, [findWhere("name", cmd.username)])
    case "RemoveUser":
      return userExpiryScript(cmd.username, userSchedulerName(cmd.username))
    case "OpenForward": {
      const { forward } = cmd
      const tag = Grant.artifactTag(forward.grantId)
      const schedule = forwardSchedulerName(forward.grantId)
      return [
        scheduleAdd(schedule, tag, forward.expiresAt, forwardExpiryScript(tag, schedule), deviceOffset, iso),
        // one dst-nat rule per listen port: skipped when any rule holds the port (ours included);
        // added disabled (the device fence): enabled only by a later EnableForward (a newer sequence)
        ifAbsent(
          ["ip", "firewall", "nat"],
          "dst-port",
          String(forward.listenPort),
          command(["ip", "firewall", "nat"], "add", forwardRecord(forward, cmd.dstAddress))
        )
      ].join("; ")
    }
    case "EnableForward":
      return command(["ip", "firewall", "nat"], "set", { disabled: "no" }, [findWhere("comment", Grant.artifactTag(cmd.grantId))])
    case "CloseForward": {
      const tag = Grant.artifactTag(cmd.grantId)
      return forwardExpiryScript(tag, forwardSchedulerName(cmd.grantId))
    }
    case "Skip":
      return `:log warning ${quote(cmd.note)}`
  }
}

/**
 * The job script of a check-in response: each command guarded by its sequence number.
 *
 * @category constructors
 * @since 0.1.0
 */
export const renderJobScript = (
  commands: ReadonlyArray<{ readonly sequence: number; readonly command: PullCommand }>,
  deviceOffset: number,
  iso: boolean
): string => {
  const lines = [`:local applied [:tonum [/system script get [find where name=${quote(sequenceScript)}] source]]`]
  for (const { command: cmd, sequence } of [...commands].sort((a, b) => a.sequence - b.sequence)) {
    if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`invalid sequence ${sequence}`)
    lines.push(
      `:if ($applied < ${sequence}) do={ ${renderCommand(cmd, deviceOffset, iso)}; ` +
        `${command(["system", "script"], "set", { source: String(sequence) }, [findWhere("name", sequenceScript)])} }`
    )
  }
  return `${lines.join("\n")}\n`
}
