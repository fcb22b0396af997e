// The edge's memory: stored responses, bounded in bytes (a flood of large
// objects evicts the least recently used instead of exhausting memory), with
// a limit per object so that one huge file cannot flush everything else.
// One URL may hold several variants, told apart by the request headers its
// Vary names; each entry keeps the tags the origin gave it, for purging.
import { LRUCache } from 'lru-cache'
import type { Headers, StoredResponse } from './freshness'

export interface Entry extends StoredResponse {
  body: Buffer
  /** From Cache-Tag or Surrogate-Key: what a purge by tag reaches. */
  tags: string[]
}

export interface HttpCacheOptions {
  maxBytes: number
  maxEntryBytes: number
}

export type Lookup =
  | { entry: Entry }
  /** Nothing stored for this URL. */
  | { miss: 'uri-miss' }
  /** The URL is stored, but not for what this request's headers ask. */
  | { miss: 'vary-miss' }

export function createHttpCache({ maxBytes, maxEntryBytes }: HttpCacheOptions) {
  const entries = new LRUCache<string, Entry>({
    maxSize: maxBytes,
    maxEntrySize: maxEntryBytes,
    // The key counts too: a flood of long URLs must fill the budget as well.
    sizeCalculation: (entry, key) =>
      key.length + entry.body.length + JSON.stringify(entry.headers).length,
  })
  // The header names each URL varies on, as its latest response said; an
  // eighth of the byte budget, so URLs alone cannot exhaust memory either.
  const varies = new LRUCache<string, string[]>({
    maxSize: Math.max(1, Math.floor(maxBytes / 8)),
    sizeCalculation: (names, url) => url.length + names.join().length + 1,
  })

  const variant = (url: string, names: string[], request: Headers) =>
    `${url}\n${names.map((name) => request[name] ?? '').join('\n')}`

  function lookup(url: string, request: Headers): Lookup {
    const names = varies.get(url)
    if (!names) return { miss: 'uri-miss' }
    const entry = entries.get(variant(url, names, request))
    return entry ? { entry } : { miss: 'vary-miss' }
  }

  function store(url: string, request: Headers, entry: Entry): boolean {
    if (entry.body.length > maxEntryBytes) return false
    const names = varyNames(entry.headers.vary)
    varies.set(url, names)
    entries.set(variant(url, names, request), entry)
    return entries.has(variant(url, names, request))
  }

  /** Drops every variant of the URLs that `matches`; answers how many. */
  function purge(matches: (url: string, entry: Entry) => boolean): number {
    let purged = 0
    for (const [key, entry] of entries.entries()) {
      if (matches(key.slice(0, key.indexOf('\n')), entry)) {
        entries.delete(key)
        purged++
      }
    }
    return purged
  }

  return {
    lookup,
    store,
    purgeUrl: (url: string) => {
      varies.delete(url) // the next request is a plain miss
      return purge((stored) => stored === url)
    },
    purgeTag: (tag: string) => purge((_, entry) => entry.tags.includes(tag)),
    stats: () => ({ entries: entries.size, bytes: entries.calculatedSize }),
  }
}

export type HttpCache = ReturnType<typeof createHttpCache>

/** The request headers an answer varies on (its Vary), in lower case. */
export const varyNames = (vary: string | undefined) =>
  (vary ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean)
