/**
 * The simulated device clock. `frozen` clocks move only when told (`advance`, `set`), so a
 * test can fire a device-side scheduler entry deterministically; `running` clocks follow the
 * host's time plus an offset (the demo). The clock is UTC (time-zone handling of real
 * routers is not simulated).
 *
 * Print formats of `/system/clock` and scheduler dates: RouterOS ≥ ~7.10 prints ISO dates
 * (`2025-07-22`), older versions `jul/22/2025` [DOC A3 sample vs OBS C1; the exact version is
 * [??], notes §2.1]. Both are accepted as input.
 *
 * @since 0.1.0
 */

import { formatDate, formatTime, parseDateTime } from "../internal/rosTime.ts"

export { formatDate, formatTime, parseDateTime }

/**
 * Clock control handed to tests.
 *
 * @category models
 * @since 0.1.0
 */
export interface SimClock {
  /** Device time, epoch ms. */
  readonly now: () => number
  /** Moves the clock forward and fires every scheduler entry that became due. */
  readonly advance: (ms: number) => Promise<void>
  /** Sets the clock and fires every scheduler entry that became due. */
  readonly set: (epochMs: number) => Promise<void>
}

/**
 * Parses a RouterOS duration (`0s`, `30s`, `1m`, `1h30m`, `1d`, `00:01:00`) into ms.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseInterval = (text: string): number | undefined => {
  const hms = /^(\d+):(\d{2}):(\d{2})$/.exec(text)
  if (hms) return ((Number(hms[1]) * 60 + Number(hms[2])) * 60 + Number(hms[3])) * 1000
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const units: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 }
  let total = 0
  let rest = text
  while (rest.length > 0) {
    const match = /^(\d+)(ms|w|d|h|m|s)/.exec(rest)
    if (!match) return undefined
    total += Number(match[1]) * units[match[2]!]!
    rest = rest.slice(match[0].length)
  }
  return text.length > 0 ? total : undefined
}
