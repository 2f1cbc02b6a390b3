/**
 * Pull mode scripts: the bootstrap that installs the check-in, the check-in script itself
 * (reports the device's state, fetches its jobs over HTTPS, imports them), the job script of
 * a check-in response, and the parser of the report.
 *
 * The fence: the device keeps the last applied command sequence in `/system script`
 * `ta-seq`; a job script applies a command only if its sequence is newer, then records it,
 * so a replayed or duplicated response changes nothing (DESIGN "device, pull").
 *
 * Every value is emitted through `RosScript.quote` (one escaping function); commands are
 * idempotent (`:if ([:len [find …]] = 0)` before adds, `remove [find …]`). Check-ins use
 * `/tool fetch … check-certificate=yes` with a per-device bearer token [DOC A4; notes §5.3].
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import { type DeviceGateway, Grant, type Ids } from "@transient-access/core"
import { defaultSchedulerPolicy, expiryRecord, forwardRecord, userRecord } from "./internal/records.ts"
import { parseDateTime } from "./internal/rosTime.ts"
import { command, findWhere, forwardExpiryScript, quote, raw, userExpiryScript } from "./RosScript.ts"
import { forwardSchedulerName, schedulerComment, userSchedulerName } from "./RouterOsGateway.ts"

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

/**
 * What a device reports at check-in.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckInReport {
  readonly sequence: number
  /** Device clock (epoch ms, UTC) and whether it prints ISO dates; undefined if unreadable. */
  readonly clock: { readonly now: number; readonly iso: boolean } | undefined
  readonly users: ReadonlyArray<{ readonly name: string; readonly comment: string; readonly disabled: boolean; readonly group: string }>
  readonly nat: ReadonlyArray<{
    readonly comment: string
    readonly dstPort: string
    readonly srcAddress: string
    readonly toAddresses: string
    readonly toPorts: string
    /** `false` also when a check-in script installed before 0.2.0 did not report the flag. */
    readonly disabled: boolean
  }>
  readonly schedulers: ReadonlyArray<{ readonly name: string; readonly comment: string }>
}

const seqScript = "ta-seq"
const jobFile = "ta-job.rsc"

const ifAbsent = (menu: ReadonlyArray<string>, field: string, value: string, body: string): string =>
  `:if ([:len [/${menu.join(" ")} find where ${field}=${quote(value)}]] = 0) do={ ${body} }`

const scheduleAdd = (name: string, tag: string, at: number, script: string, deviceOffset: number, iso: boolean): string =>
  ifAbsent(["system", "scheduler"], "name", name, command(["system", "scheduler"], "add", expiryRecord({
    name,
    comment: schedulerComment(tag, at),
    at,
    deviceOffset,
    iso,
    policy: defaultSchedulerPolicy,
    script
  })))

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
        ifAbsent(["ip", "firewall", "nat"], "dst-port", String(forward.listenPort), command(["ip", "firewall", "nat"], "add", forwardRecord(forward, cmd.dstAddress)))
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
  const lines = [`:local applied [:tonum [/system script get [find where name=${quote(seqScript)}] source]]`]
  for (const { command: cmd, sequence } of [...commands].sort((a, b) => a.sequence - b.sequence)) {
    if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`invalid sequence ${sequence}`)
    lines.push(
      `:if ($applied < ${sequence}) do={ ${renderCommand(cmd, deviceOffset, iso)}; ` +
        `${command(["system", "script"], "set", { source: String(sequence) }, [findWhere("name", seqScript)])} }`
    )
  }
  return `${lines.join("\n")}\n`
}

const collect = (variable: string, menu: ReadonlyArray<string>, field: string, pattern: string, fields: ReadonlyArray<string>): string => {
  const path = `/${menu.join(" ")}`
  const parts = fields.map((name) => `[${path} get $i ${name}]`).join(` . "," . `)
  return `:foreach i in=[${path} find where ${field}~${quote(pattern)}] do={ :set ${variable} ($${variable} . ${parts} . ";") }`
}

/**
 * The check-in script: ensure `ta-seq`, build the report, POST it, import the reply.
 *
 * @category constructors
 * @since 0.1.0
 */
export const renderCheckInScript = (options: { readonly url: string; readonly token: Redacted.Redacted<string> }): string =>
  [
    `:if ([:len [/system script find where name=${quote(seqScript)}]] = 0) do={ ${command(["system", "script"], "add", { name: seqScript, source: "0" })} }`,
    `:local r ("seq=" . [/system script get [find where name=${quote(seqScript)}] source] . "&date=" . [/system clock get date] . "&time=" . [/system clock get time] . "&users=")`,
    collect("r", ["user"], "name", "^ta-", ["name", "comment", "disabled", "group"]),
    `:set r ($r . "&nat=")`,
    collect("r", ["ip", "firewall", "nat"], "comment", "^ta:", ["comment", "dst-port", "src-address", "to-addresses", "to-ports", "disabled"]),
    `:set r ($r . "&sched=")`,
    collect("r", ["system", "scheduler"], "name", "^ta-", ["name", "comment"]),
    command(["tool"], "fetch", {
      url: options.url,
      "http-method": "post",
      "http-header-field": `Authorization: Bearer ${Redacted.value(options.token)}`,
      "http-data": raw("$r"),
      "check-certificate": "yes",
      "dst-path": jobFile
    }),
    command([], "import", { "file-name": jobFile }),
    command(["file"], "remove", {}, [findWhere("name", jobFile)])
  ].join("\n")

/**
 * The bootstrap script an operator pastes once: installs the check-in script and a
 * scheduler running it every `intervalSeconds` (and at startup).
 *
 * @category constructors
 * @since 0.1.0
 */
export const renderBootstrap = (options: {
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly intervalSeconds?: number
}): string => {
  const interval = `${Math.max(1, Math.floor(options.intervalSeconds ?? 30))}s`
  const name = "ta-checkin"
  return [
    command(["system", "script"], "remove", {}, [findWhere("name", name)]),
    command(["system", "scheduler"], "remove", {}, [findWhere("name", name)]),
    command(["system", "script"], "add", { name, policy: defaultSchedulerPolicy, source: renderCheckInScript(options) }),
    command(["system", "scheduler"], "add", {
      name,
      interval,
      "start-time": "startup",
      policy: defaultSchedulerPolicy,
      "on-event": command(["system", "script"], "run", {}, [name])
    })
  ].join("\n") + "\n"
}

const fieldPattern = /^[A-Za-z0-9._:|=/-]*$/

/**
 * Parses a check-in report (`seq=…&date=…&time=…&users=…&nat=…&sched=…`); fields that do not
 * match the expected character set are dropped, never trusted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseReport = (body: string): CheckInReport | undefined => {
  const fields = new Map<string, string>()
  for (const part of body.split("&")) {
    const eq = part.indexOf("=")
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1))
  }
  const seq = fields.get("seq") ?? ""
  if (!/^\d{1,15}$/.test(seq)) return undefined
  const rows = (name: string, ...widths: ReadonlyArray<number>) =>
    (fields.get(name) ?? "").split(";").filter((row) => row !== "").map((row) => row.split(",")).filter((cells) =>
      widths.includes(cells.length) && cells.every((cell) => fieldPattern.test(cell))
    )
  const now = parseDateTime(fields.get("date") ?? "", fields.get("time") ?? "")
  return {
    sequence: Number(seq),
    clock: now === undefined ? undefined : { now, iso: /^\d{4}-/.test(fields.get("date") ?? "") },
    users: rows("users", 4).map(([name, comment, disabled, group]) => ({
      name: name!, comment: comment!, disabled: disabled === "true", group: group!
    })),
    // 5 columns: a check-in script installed before the flag was reported (read as enabled)
    nat: rows("nat", 6, 5).map(([comment, dstPort, srcAddress, toAddresses, toPorts, disabled]) => ({
      comment: comment!, dstPort: dstPort!, srcAddress: srcAddress!, toAddresses: toAddresses!, toPorts: toPorts!, disabled: disabled === "true"
    })),
    schedulers: rows("sched", 2).map(([name, comment]) => ({ name: name!, comment: comment! }))
  }
}
