/**
 * RouterOS date and time formats: ISO dates (`2025-07-22`, v7.10+ [DOC A3 sample]) or
 * `jul/22/2025` (older [OBS C1]); `hh:mm:ss` times; UTC.
 *
 * @since 0.1.0
 */
const months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/**
 * Formats a date as RouterOS prints it: ISO (`iso: true`) or `mmm/dd/yyyy`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const formatDate = (epochMs: number, iso: boolean): string => {
  const date = new Date(epochMs)
  const dd = String(date.getUTCDate()).padStart(2, "0")
  const mm = String(date.getUTCMonth() + 1).padStart(2, "0")
  return iso ? `${date.getUTCFullYear()}-${mm}-${dd}` : `${months[date.getUTCMonth()]}/${dd}/${date.getUTCFullYear()}`
}

/**
 * Formats a time of day `hh:mm:ss` (UTC).
 *
 * @category constructors
 * @since 0.1.0
 */
export const formatTime = (epochMs: number): string => new Date(epochMs).toISOString().slice(11, 19)

/**
 * Parses `yyyy-mm-dd` or `mmm/dd/yyyy` plus `hh:mm:ss` into epoch ms (UTC); `undefined` when
 * malformed.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parseDateTime = (date: string, time: string): number | undefined => {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  const legacy = /^([a-z]{3})\/(\d{2})\/(\d{4})$/.exec(date)
  const clock = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time)
  if (!clock) return undefined
  let year: number, month: number, day: number
  if (iso) {
    year = Number(iso[1])
    month = Number(iso[2]) - 1
    day = Number(iso[3])
  } else if (legacy && months.includes(legacy[1]!)) {
    year = Number(legacy[3])
    month = months.indexOf(legacy[1]!)
    day = Number(legacy[2])
  } else {
    return undefined
  }
  return Date.UTC(year, month, day, Number(clock[1]), Number(clock[2]), Number(clock[3]))
}
