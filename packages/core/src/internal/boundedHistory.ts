/**
 * An append-only log that keeps only its most recent `limit` entries (amortised trimming),
 * for the in-memory gateways' `history` probes.
 */
export interface BoundedHistory<A> {
  readonly remember: (entry: A) => void
  /** The most recent entries, oldest first. */
  readonly entries: () => ReadonlyArray<A>
}

/** A history keeping at most `limit` entries (default 100,000). */
export const makeBoundedHistory = <A>(limit: number | undefined): BoundedHistory<A> => {
  const kept = Math.max(0, limit ?? 100_000)
  const log: Array<A> = []
  return {
    remember: (entry) => {
      log.push(entry)
      if (log.length > kept + Math.max(64, kept / 8)) log.splice(0, log.length - kept)
    },
    entries: () => (kept === 0 ? [] : log.slice(-kept))
  }
}
