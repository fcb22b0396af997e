// The shared cache tier (L2): one Redis for every app server. Entries expire
// by themselves, and never later than the link does. Redis is optional at
// run time: an error or a slow answer counts as a miss and the app reads the
// database. Trade-off: a cache that may vanish can only ever hold copies.
import { randomUUID } from 'node:crypto'
import type Redis from 'ioredis'
import type { Link } from '../app/link-store'
import type { Metrics } from '../common/metrics'
import { waitFor } from '../../../../shared/wait-for'

// Redis cannot store "nothing": a known-absent code is this string.
const ABSENT = 'absent'
// Deletes a key only if it still holds ARGV[1]: a lease that is still ours
// (after leaseMs it may have passed to another app server), or a bad copy
// that nobody has replaced yet.
const DELETE_IF_SAME = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`

// Left by an invalidation: a miss for readers, and a fill cannot replace it.
const INVALIDATED = 'invalidated'

export interface RedisCacheOptions {
  redis: Redis
  ttlMs: number
  /** How long an unknown code is remembered as absent. */
  negativeTtlMs: number
  /** How long other app servers wait for the one loading a code. */
  leaseMs: number
  /** How long after an invalidation nothing may refill the code: about the
   * replicas' lag limit, so no fill brings back what a lagging replica read. */
  invalidatedMs: number
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
  invalidatedMs,
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
    if (raw === undefined || raw === null || raw === INVALIDATED)
      return undefined
    if (raw === ABSENT) return null
    const link = parseLink(raw, code)
    if (link) return link
    // Not a copy we wrote (corrupt, or another program's): a miss, and gone.
    metrics.count('cache.l2.corrupt')
    await quietly(redis.eval(DELETE_IF_SAME, 1, key(code), raw))
    return undefined
  }

  /** The time to keep `value`: never past the link's own expiry. */
  function ttlFor(value: Link | null, limitMs: number): number {
    if (value === null) return Math.min(limitMs, negativeTtlMs)
    if (value.expiresAt === null) return limitMs
    return Math.min(limitMs, value.expiresAt - now())
  }

  // NX: a fill never overwrites, so it cannot replace the mark an
  // invalidation left. Answers whether the copy was kept.
  async function fill(code: string, value: Link | null): Promise<boolean> {
    const ms = ttlFor(value, ttlMs)
    if (ms <= 0) return true
    const raw = value === null ? ABSENT : JSON.stringify(value)
    const stored = await quietly(redis.set(key(code), raw, 'PX', ms, 'NX'))
    return stored !== null // undefined: Redis is away, keep the copy in L1
  }

  return {
    ttlFor,
    get,
    /** Writes a new link through, over whatever was there ("absent"). */
    put: async (link: Link) => {
      const ms = ttlFor(link, ttlMs)
      if (ms > 0)
        await quietly(redis.set(key(link.code), JSON.stringify(link), 'PX', ms))
    },
    /** Replaces the copy with a mark that no fill may overwrite for a while. */
    invalidate: (code: string) =>
      quietly(redis.set(key(code), INVALIDATED, 'PX', invalidatedMs)),
    /** L2, then `load` from the database under a lease: one loader per code. */
    async load(code: string, load: () => Promise<Link | undefined>) {
      const cached = await get(code)
      if (cached !== undefined) {
        return { value: cached, from: 'HIT-L2' as const, kept: true }
      }
      const lease = `lease:${key(code)}`
      const token = randomUUID() // only the holder may give the lease back
      const leased = await quietly(redis.set(lease, token, 'PX', leaseMs, 'NX'))
      // Another app server holds the lease: wait for its answer rather than
      // send the database one more identical query (a stampede).
      if (leased === null) {
        metrics.count('cache.lease_waits')
        const filled = await waitFor(
          `the lease holder to fill ${code}`,
          async () => {
            const value = await get(code)
            if (value !== undefined) return { value }
            // Released without a fill (refused, or its load failed): stop
            // waiting and load it ourselves.
            const held = await quietly(redis.exists(lease))
            return held === 0 && { value: undefined }
          },
          { timeoutMs: leaseMs, intervalMs: 5 },
        ).catch(() => undefined)
        if (filled?.value !== undefined) {
          return { value: filled.value, from: 'HIT-L2' as const, kept: true }
        }
      }
      try {
        const value = (await load()) ?? null
        // Not kept when an invalidation came in between: the load may have
        // read a replica that had not applied the change yet.
        const kept = await fill(code, value)
        return { value, from: 'MISS' as const, kept }
      } finally {
        if (leased === 'OK')
          await quietly(redis.eval(DELETE_IF_SAME, 1, lease, token))
      }
    },
  }
}

export type RedisCache = ReturnType<typeof createRedisCache>

// Whatever comes back from Redis is input: anyone with access to it can
// write there. Only a whole link, for this code, to an http(s) URL, is one.
function parseLink(raw: string, code: string): Link | undefined {
  let value: Partial<Record<keyof Link, unknown>>
  try {
    value = JSON.parse(raw)
  } catch {
    return undefined
  }
  const numberOrNull = (v: unknown) => v === null || typeof v === 'number'
  const valid =
    typeof value === 'object' &&
    value !== null &&
    value.code === code &&
    typeof value.url === 'string' &&
    /^https?:\/\//i.test(value.url) &&
    typeof value.createdAt === 'number' &&
    numberOrNull(value.expiresAt) &&
    typeof value.deleteTokenHash === 'string' &&
    numberOrNull(value.deletedAt) &&
    typeof value.clicks === 'number'
  return valid ? (value as Link) : undefined
}
