/**
 * Pull mode scripts: the bootstrap an operator installs once, the check-in script it
 * installs (reports the device's state, fetches its jobs over HTTPS, imports them), and the
 * parser of that report. The job scripts of check-in responses are rendered by `PullChannel`.
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
import { command, findWhere, quote, raw } from "./RosScript.ts"
import { sequenceScript } from "./internal/jobScript.ts"
import { defaultSchedulerPolicy } from "./internal/records.ts"
import { parseDateTime } from "./internal/rosTime.ts"

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

const jobFile = "ta-job.rsc"

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
    `:if ([:len [/system script find where name=${quote(sequenceScript)}]] = 0) do={ ${command(["system", "script"], "add", { name: sequenceScript, source: "0" })} }`,
    `:local r ("seq=" . [/system script get [find where name=${quote(sequenceScript)}] source] . "&date=" . [/system clock get date] . "&time=" . [/system clock get time] . "&users=")`,
    collect("r", ["user"], "name", "^ta-", ["name", "comment", "disabled", "group"]),
    `:set r ($r . "&nat=")`,
    collect("r", ["ip", "firewall", "nat"], "comment", "^ta:", [
      "comment",
      "dst-port",
      "src-address",
      "to-addresses",
      "to-ports",
      "disabled"
    ]),
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
  const lines = [
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
  ]
  return `${lines.join("\n")}\n`
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
    (fields.get(name) ?? "")
      .split(";")
      .filter((row) => row !== "")
      .map((row) => row.split(","))
      .filter((cells) => widths.includes(cells.length) && cells.every((cell) => fieldPattern.test(cell)))
  const now = parseDateTime(fields.get("date") ?? "", fields.get("time") ?? "")
  return {
    sequence: Number(seq),
    clock: now === undefined ? undefined : { now, iso: /^\d{4}-/.test(fields.get("date") ?? "") },
    users: rows("users", 4).map(([name, comment, disabled, group]) => ({
      name: name!,
      comment: comment!,
      disabled: disabled === "true",
      group: group!
    })),
    // 5 columns: a check-in script installed before the flag was reported (read as enabled)
    nat: rows("nat", 6, 5).map(([comment, dstPort, srcAddress, toAddresses, toPorts, disabled]) => ({
      comment: comment!,
      dstPort: dstPort!,
      srcAddress: srcAddress!,
      toAddresses: toAddresses!,
      toPorts: toPorts!,
      disabled: disabled === "true"
    })),
    schedulers: rows("sched", 2).map(([name, comment]) => ({ name: name!, comment: comment! }))
  }
}
