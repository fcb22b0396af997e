// Cache-aside in two layers. A redirect asks L1 (this app server's memory),
// then L2 (Redis, shared by every app server), then the database, and fills
// each layer on the way back. Almost all redirects are for a few hot links,
// so almost none reach the database. Trade-off: a cache holds copies, and a
// copy that is not dropped when its link changes goes on redirecting.
import { LRUCache } from 'lru-cache'
import { DbError } from '../database/db-client'
import { HttpError } from '../common/http-error'
import type { Invalidation } from './invalidation'
import type { Link, LinkStore } from '../app/link-store'
import type { Metrics } from '../common/metrics'
import type { RedisCache } from './redis-cache'
import { currentContext } from '../app/request-context'

export interface CachedStoreOptions {
  inner: LinkStore
  l2: RedisCache
  l1MaxEntries: number
  /** Short: L1 copies are dropped by messages that can be missed. */
  l1TtlMs: number
  metrics: Metrics
}

/** One L1 entry: the link, or null for "no such link", where it came from,
 * and whether Redis took the copy too (it refuses one after an invalidation). */
interface Entry {
  link: Link | null
  from: 'HIT-L2' | 'MISS'
  kept: boolean
}

export function createCachedStore({
  inner,
  l2,
  l1MaxEntries,
  l1TtlMs,
  metrics,
}: CachedStoreOptions) {
  let invalidation: Invalidation | undefined

  const l1 = new LRUCache<string, Entry>({
    max: l1MaxEntries,
    ttl: l1TtlMs,
    // fetch() coalesces: concurrent misses for one code share this one call.
    fetchMethod: async (code, stale, { options }) => {
      const { value, from, kept } = await l2.load(code, () => {
        metrics.count('cache.db_loads')
        return inner.find(code)
      })
      // Never keep a copy past the link's expiry, nor "absent" for long;
      // and not at all when Redis refused it (an invalidation came first).
      options.ttl = kept ? Math.max(1, l2.ttlFor(value, l1TtlMs)) : 1
      return { link: value, from, kept }
    },
  })

  async function find(code: string, options?: { fresh?: boolean }) {
    // Read-your-writes: a client that wrote (it sends its seq) reads past
    // every copy, which may be older than its own write. Trade-off: for a
    // minute after a write, that client's reads cost a database read.
    if (options?.fresh || (currentContext()?.minSeq ?? 0) > 0) {
      answeredBy('BYPASS')
      return inner.find(code, options)
    }
    const hit = l1.has(code)
    // An invalidation that lands mid-load aborts it: load once more, and
    // past the cache if that is aborted too. (A failed database load is not
    // tried twice.)
    const entry = await l1.fetch(code).catch((error: unknown) => {
      if (error instanceof HttpError || error instanceof DbError) throw error
      return l1.fetch(code).catch(async (again: unknown) => {
        if (again instanceof HttpError || again instanceof DbError) throw again
        return {
          link: (await inner.find(code)) ?? null,
          from: 'MISS',
          kept: false,
        } as Entry
      })
    })
    // A copy Redis refused may predate a delete: serve it once, keep it not.
    if (!entry!.kept && l1.peek(code) === entry) l1.delete(code)
    const layer = hit ? 'HIT-L1' : entry!.from
    answeredBy(layer)
    metrics.count(`cache.${layer.toLowerCase()}`)
    return entry!.link ?? undefined
  }

  /** Drops every copy of a changed link: here, in Redis, and in every app
   * server's L1. A new link is written to Redis at once instead. */
  async function invalidate(code: string, created?: Link) {
    l1.delete(code)
    if (created) await l2.put(created)
    else await l2.invalidate(code)
    await invalidation?.publish(code)
  }

  const store: LinkStore = {
    find,
    // A new link replaces a remembered "absent" for its alias, and its
    // first redirects need not all reach the database.
    insert: async (link) => {
      await inner.insert(link)
      await invalidate(link.code, { ...link, clicks: 0, deletedAt: null })
    },
    // Clicks are not cached (the details page reads them fresh).
    recordClick: (code) => inner.recordClick(code),
    markDeleted: async (code, at) => {
      await inner.markDeleted(code, at)
      await invalidate(code)
    },
    close: () => inner.close(),
  }
  return {
    store,
    dropLocal: (code: string) => void l1.delete(code),
    useInvalidation: (bus: Invalidation) => void (invalidation = bus),
  }
}

function answeredBy(layer: string) {
  const context = currentContext()
  if (context) context.cache = layer
}
