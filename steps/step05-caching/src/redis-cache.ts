// The shared cache tier (L2): one Redis for every app server. Entries expire
// by themselves, and never later than the link does. Redis is optional at
// run time: an error or a slow answer counts as a miss and the app reads the
// database. Trade-off: a cache that may vanish can only ever hold copies.
import type Redis from 'ioredis'
import type { Link } from './link-store'
import type { Metrics } from './metrics'
import { waitFor } from '../../../shared/wait-for'

// Redis cannot store "nothing": a known-absent code is this string.
const ABSENT = 'absent'

export interface RedisCacheOptions {
  redis: Redis
  ttlMs: number
  /** How long an unknown code is remembered as absent. */
  negativeTtlMs: number
  /** How long other app servers wait for the one loading a code. */
  leaseMs: number
  metrics: Metrics
  now?: () => number
}

/** null: known to be absent; undefined: not in the cache (or Redis is away). */
export type Lookup = Link | null | undefined

export function createRedisCache({
  redis,
  ttlMs,
  negativeTtlMs,
  leaseMs,
  metrics,
  now = Date.now,
}: RedisCacheOptions) {
  const key = (code: string) => `link:${code}`
  const quietly = async <T>(command: Promise<T>): Promise<T | undefined> => {
    try {
      return await command
    } catch {
      metrics.count('cache.l2.errors') // Redis is down or slow: carry on
      return undefined
    }
  }

  async function get(code: string): Promise<Lookup> {
    const raw = await quietly(redis.get(key(code)))
    if (raw === undefined || raw === null) return undefined
    return raw === ABSENT ? null : (JSON.parse(raw) as Link)
  }

  /** The time to keep `value`: never past the link's own expiry. */
  function ttlFor(value: Link | null, limitMs: number): number {
    if (value === null) return Math.min(limitMs, negativeTtlMs)
    if (value.expiresAt === null) return limitMs
    return Math.min(limitMs, value.expiresAt - now())
  }

  // NX: a fill never overwrites. A slow load that read the old link before a
  // delete cannot put it back over what the delete left.
  async function fill(code: string, value: Link | null) {
    const ms = ttlFor(value, ttlMs)
    if (ms <= 0) return
    const raw = value === null ? ABSENT : JSON.stringify(value)
    await quietly(redis.set(key(code), raw, 'PX', ms, 'NX'))
  }

  return {
    ttlFor,
    get,
    drop: (code: string) => quietly(redis.del(key(code))),
    /** L2, then `load` from the database under a lease: one loader per code. */
    async load(code: string, load: () => Promise<Link | undefined>) {
      const cached = await get(code)
      if (cached !== undefined)
        return { value: cached, from: 'HIT-L2' as const }
      const leased = await quietly(
        redis.set(`lease:${key(code)}`, '1', 'PX', leaseMs, 'NX'),
      )
      // Another app server holds the lease: wait for its answer rather than
      // send the database one more identical query (a stampede).
      if (leased === null) {
        metrics.count('cache.lease_waits')
        const filled = await waitFor(
          `the lease holder to fill ${code}`,
          async () => {
            const value = await get(code)
            return value !== undefined && { value }
          },
          { timeoutMs: leaseMs, intervalMs: 5 },
        ).catch(() => undefined)
        if (filled) return { value: filled.value, from: 'HIT-L2' as const }
      }
      const value = (await load()) ?? null
      await fill(code, value)
      await quietly(redis.del(`lease:${key(code)}`))
      return { value, from: 'MISS' as const }
    },
  }
}

export type RedisCache = ReturnType<typeof createRedisCache>
