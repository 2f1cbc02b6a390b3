/**
 * Abuse limits of the example server: a token bucket per key (an API key's actor, a source
 * address), in this process's memory. `take(key)` spends one token and says how long to wait
 * when none is left; buckets refill continuously at `perMinute` tokens a minute up to
 * `burst`. Idle buckets are forgotten, so the table stays bounded by the active keys.
 *
 * @since 0.2.0
 */

/**
 * A limit: `perMinute` sustained, `burst` at once.
 *
 * @category models
 * @since 0.2.0
 */
export interface Limit {
  readonly perMinute: number
  readonly burst: number
}

/**
 * A limiter over many keys.
 *
 * @category models
 * @since 0.2.0
 */
export interface Limiter {
  /** Spends one token of `key`: `undefined` when allowed, else the seconds until the next token. */
  readonly take: (key: string) => number | undefined
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A token-bucket limiter; `now` is injectable for tests.
 *
 * @category constructors
 * @since 0.2.0
 */
export const makeLimiter = (limit: Limit, now: () => number = Date.now): Limiter => {
  const buckets = new Map<string, Bucket>()
  const perMs = limit.perMinute / 60_000
  // forget full (idle) buckets once the table is large, at most once a second: a flood of
  // distinct keys costs one pass a second, not one per request
  let sweptAt = Number.NEGATIVE_INFINITY
  const sweep = (time: number) => {
    if (buckets.size < 10_000 || time - sweptAt < 1000) return
    sweptAt = time
    for (const [key, bucket] of buckets) if (bucket.tokens + (time - bucket.at) * perMs >= limit.burst) buckets.delete(key)
  }
  return {
    take: (key) => {
      const time = now()
      sweep(time)
      const bucket = buckets.get(key) ?? { tokens: limit.burst, at: time }
      bucket.tokens = Math.min(limit.burst, bucket.tokens + (time - bucket.at) * perMs)
      bucket.at = time
      buckets.set(key, bucket)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return undefined
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000))
    }
  }
}
