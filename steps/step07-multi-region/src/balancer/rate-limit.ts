// A token bucket per client: `capacity` requests in a burst, refilled at
// `refillPerSecond`. Trade-off: keyed by address, so clients behind one NAT
// share a bucket; a real edge keys by API key or user where it can.
import { LRUCache } from 'lru-cache'

export interface RateLimitOptions {
  capacity: number
  refillPerSecond: number
  /** Injectable clock, for tests. */
  now?: () => number
}

interface Bucket {
  tokens: number
  updatedAt: number
}

/** Returns 0 when the request may pass, else the seconds to wait. */
export type RateLimiter = (client: string) => number

export function createRateLimiter({
  capacity,
  refillPerSecond,
  now = Date.now,
}: RateLimitOptions): RateLimiter {
  if (!(capacity >= 1) || !(refillPerSecond > 0)) {
    throw new TypeError(
      'RateLimitOptions needs capacity >= 1 and refillPerSecond > 0',
    )
  }
  // Bounded: a flood of spoofed addresses must not grow memory without end.
  const buckets = new LRUCache<string, Bucket>({ max: 10_000 })
  return (client) => {
    const time = now()
    const bucket = buckets.get(client) ?? { tokens: capacity, updatedAt: time }
    const refilled = ((time - bucket.updatedAt) / 1000) * refillPerSecond
    bucket.tokens = Math.min(capacity, bucket.tokens + refilled)
    bucket.updatedAt = time
    buckets.set(client, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) / refillPerSecond)
  }
}
