// Cache-aside in two layers. A redirect asks L1 (this app server's memory),
// then L2 (Redis, shared by every app server), then the database, and fills
// each layer on the way back. Almost all redirects are for a few hot links,
// so almost none reach the database. Trade-off: a cache holds copies, and a
// copy that is not dropped when its link changes goes on redirecting.
import { LRUCache } from 'lru-cache'
import { DbError } from '../../steps/step05-caching/src/database/db-client'
import { HttpError } from '../../steps/step05-caching/src/common/http-error'
import type { Invalidation } from '../../steps/step05-caching/src/cache/invalidation'
import type {
  Link,
  LinkStore,
} from '../../steps/step05-caching/src/app/link-store'
import type { Metrics } from '../../steps/step05-caching/src/common/metrics'
import type { RedisCache } from '../../steps/step05-caching/src/cache/redis-cache'
import { currentContext } from '../../steps/step05-caching/src/app/request-context'
import { todo } from '../../shared/todo'

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
      // 🐨 Ask l2.load(code, loadFromDatabase): it answers from Redis, or
      //    calls your function and fills Redis. Your function is the only
      //    database load: count 'cache.db_loads' there, and return
      //    inner.find(code). Set options.ttl to l2.ttlFor(value, l1TtlMs), or
      //    to 1 when `kept` is false, and return { link: value, from, kept }.
      // 💰 To lru-cache, a TTL of 0 means "never expires": use at least 1.
      // 🦉 value is null for a code that does not exist: remembering that
      //    keeps floods of unknown codes away from the database.
      return todo('fetchMethod', 'Hint 3: L2, TTLs and absence')
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
    // 🐨 Note whether l1.has(code), then get the entry with l1.fetch(code).
    //    The layer is 'HIT-L1' when L1 had it, else entry.from: pass it to
    //    answeredBy() and count it (`cache.${layer.toLowerCase()}`). Return
    //    the link (undefined for null). An entry that Redis did not keep
    //    (entry.kept false) must not stay in L1: delete it.
    // 💰 l1.fetch() rejects when an invalidation aborts it mid-load: fetch
    //    once more. Not after a database failure (HttpError, DbError): rethrow.
    // 🦉 A copy Redis refused may have been read before a delete.
    return todo('find()', 'Hint 2: L1 and coalescing')
  }

  /** Drops every copy of a changed link: here, in Redis, and in every app
   * server's L1. A new link is written to Redis at once instead. */
  async function invalidate(code: string, created?: Link) {
    // 🐨 Delete the code from l1. In l2, put the created link when there is
    //    one, else invalidate the code. Then publish the code on the
    //    invalidation channel (invalidation?.publish) so the other app
    //    servers drop their copies.
    // 💰 Await each step: the client must hear its answer only afterwards.
    // 🦉 Publish waits for every app server's acknowledgement: once the
    //    client hears "deleted", no app server redirects to the link.
    return todo('invalidate()', 'Hint 1: invalidation')
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
