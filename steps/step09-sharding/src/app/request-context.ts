// What one request knows about its database reads and writes. Read-your-
// writes across app servers needs the client's help: a write's response
// carries its sequence number (cookie db_seq, header X-DB-Seq); the client
// sends it back, and reads then wait for a replica that has applied that far.
// The context also names the node that answered, for the X-DB header, and
// the cache layer, for X-Cache. Now every shard has its own log, so its own
// sequence numbers: the cookie carries one per shard (db_seq=shard-1:42|...)
// and X-Shard names the shard whose answer the client got.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, RequestListener } from 'node:http'

export interface RequestContext {
  /** The client has seen writes up to this seq: read nothing older. Inside
   * inShard(), that shard's; outside, the highest of any (non-zero when the
   * client wrote at all). */
  minSeq: number
  /** The newest seq this request wrote (inside inShard(): to that shard). */
  wroteSeq: number
  /** Per shard: what the client has seen, and what this request wrote. */
  seqs: Record<string, number>
  /** The shard whose answer the client gets: the last one asked (during a
   * move, a read that misses on a link's new owner is answered by the old
   * one), or every shard, for a question put to them all. */
  shard?: string
  /** Which database node answered, e.g. "replica db-2". */
  db?: string
  /** Which cache answered: HIT-L1, HIT-L2, MISS, or BYPASS. */
  cache?: string
}

const storage = new AsyncLocalStorage<RequestContext>()

export const currentContext = (): RequestContext | undefined =>
  storage.getStore()

/** Runs `work` apart from the request: what it writes shows in no header and
 * sets no cookie. A click is the system's bookkeeping, not the client's own
 * write: it must not make the client's next reads wait for it. */
export function apart<T>(work: () => Promise<T>): Promise<T> {
  const context = storage.getStore()
  return context ? storage.run({ ...context, wroteSeq: 0 }, work) : work()
}

/** Runs `work` as a call to one shard: it reads and writes that shard's
 * seq, and the request learns what it wrote there. */
export async function inShard<T>(
  shard: string,
  work: () => Promise<T>,
): Promise<T> {
  const parent = storage.getStore()
  if (!parent) return work()
  const child: RequestContext = {
    ...parent,
    minSeq: parent.seqs[shard] ?? 0,
    wroteSeq: 0,
    db: undefined,
  }
  try {
    return await storage.run(child, work)
  } finally {
    if (child.wroteSeq > 0) {
      parent.seqs[shard] = Math.max(parent.seqs[shard] ?? 0, child.wroteSeq)
      parent.wroteSeq = Math.max(parent.wroteSeq, child.wroteSeq)
    }
    // X-Shard and X-DB name the same call: the last, whose answer counts.
    parent.db = child.db
    parent.shard = shard
  }
}

export function withRequestContext(handler: RequestListener): RequestListener {
  return (req, res) => {
    const seqs = seqsFrom(req)
    const context: RequestContext = {
      minSeq: Math.max(0, ...Object.values(seqs)),
      wroteSeq: 0,
      seqs,
    }
    const writeHead = res.writeHead
    // Headers are decided when the response starts, after the store ran.
    res.writeHead = ((...args: Parameters<typeof writeHead>) => {
      if (context.db) res.setHeader('X-DB', context.db)
      if (context.cache) res.setHeader('X-Cache', context.cache)
      if (context.shard) res.setHeader('X-Shard', context.shard)
      if (context.wroteSeq > 0) {
        const value = Object.entries(context.seqs)
          .map(([shard, seq]) => `${shard}:${seq}`)
          .join('|')
        res.setHeader('X-DB-Seq', value)
        res.appendHeader(
          'Set-Cookie',
          `db_seq=${value}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`,
        )
      }
      return writeHead.apply(res, args)
    }) as typeof res.writeHead
    storage.run(context, () => handler(req, res))
  }
}

// "shard-1:42|shard-3:7", from the header or the cookie; anything else in it
// is ignored, and at most a few shards are believed.
function seqsFrom(req: IncomingMessage): Record<string, number> {
  const cookie = /(?:^|;\s*)db_seq=([^;]*)/.exec(req.headers.cookie ?? '')?.[1]
  const header = req.headers['x-db-seq']
  const text = (typeof header === 'string' ? header : cookie) ?? ''
  const seqs: Record<string, number> = Object.create(null)
  for (const part of text.split('|').slice(0, 16)) {
    const match = /^([\w-]{1,32}):(\d{1,15})$/.exec(part)
    if (match && Number(match[2]) > 0) seqs[match[1]!] = Number(match[2])
  }
  return seqs
}
