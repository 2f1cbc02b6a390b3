/**
 * Human-readable output of the CLI: tables, durations and the provisioning progress line.
 *
 * @since 0.1.0
 */
import type { ApiGrant } from "./Client.ts"

/**
 * Parses `90`, `90s`, `15m`, `1h`, `1h30m` into seconds; `undefined` when malformed.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseDuration = (text: string): number | undefined => {
  if (/^\d{1,6}$/.test(text)) return Number(text)
  const match = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s)?$/.exec(text)
  if (match === null || text === "") return undefined
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)
}

/**
 * `1h 05m` / `4m 09s` / `expired`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const formatRemaining = (ms: number): string => {
  if (ms <= 0) return "expired"
  const total = Math.floor(ms / 1000)
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const seconds = total % 60
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, "0")}m` : `${minutes}m ${String(seconds).padStart(2, "0")}s`
}

/**
 * A fixed-width table.
 *
 * @category constructors
 * @since 0.1.0
 */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/**
 * The grants of a device as a table.
 *
 * @category constructors
 * @since 0.1.0
 */
export const grantsTable = (grants: ReadonlyArray<ApiGrant>, now: number): string =>
  grants.length === 0
    ? "No grants."
    : table(
        ["ID", "USER", "ACCESS", "PERMISSION", "SOURCE", "ENDPOINT", "STATE", "EXPIRES IN"],
        grants.map((grant) => [
          grant.id,
          grant.username,
          grant.accessType,
          grant.permission,
          grant.source,
          `${grant.endpoint.host}:${grant.endpoint.port}`,
          grant.state,
          grant.state === "revoked" || grant.state === "revoking" ? "-" : formatRemaining(Date.parse(grant.expiresAt) - now)
        ])
      )

/**
 * One progress line: each step of provisioning (or revocation) ticked when done.
 *
 * @category constructors
 * @since 0.1.0
 */
export const progressLine = (grant: ApiGrant): string => {
  const mark = (done: boolean) => (done ? "✔" : "…")
  if (grant.state === "revoking" || grant.state === "revoked") {
    return `${grant.state.padEnd(8)}  nat rule removed ${mark(grant.progress.natGone)}  device user removed ${mark(grant.progress.deviceGone)}${grant.progress.revokeStuck ? "  (stuck: retrying)" : ""}`
  }
  return `${grant.state.padEnd(8)}  nat rule ${mark(grant.progress.natOpen)}  device user ${mark(grant.progress.deviceReady)}`
}

/**
 * Parses `--forward HOST:PORT` (`[v6]:PORT` for IPv6); `null` when malformed. The server
 * validates the address itself.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseForward = (text: string): { readonly address: string; readonly port: number } | null => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(match?.[3])
  const address = match?.[1] ?? match?.[2]
  return address === undefined || !Number.isInteger(port) || port < 1 || port > 65_535 ? null : { address, port }
}
