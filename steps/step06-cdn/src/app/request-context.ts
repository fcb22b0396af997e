// What one request knows about its database reads and writes. Read-your-
// writes across app servers needs the client's help: a write's response
// carries its sequence number (cookie db_seq, header X-DB-Seq); the client
// sends it back, and reads then wait for a replica that has applied that far.
// The context also names the node that answered, for the X-DB header, and
// the cache layer, for X-Cache.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { IncomingMessage, RequestListener } from 'node:http'

export interface RequestContext {
  /** The client has seen writes up to this seq: read nothing older. */
  minSeq: number
  /** The newest seq this request wrote. */
  wroteSeq: number
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

export function withRequestContext(handler: RequestListener): RequestListener {
  return (req, res) => {
    const context: RequestContext = { minSeq: seqFrom(req), wroteSeq: 0 }
    const writeHead = res.writeHead
    // Headers are decided when the response starts, after the store ran.
    res.writeHead = ((...args: Parameters<typeof writeHead>) => {
      if (context.db) res.setHeader('X-DB', context.db)
      if (context.cache) res.setHeader('X-Cache', context.cache)
      const seq = Math.max(context.minSeq, context.wroteSeq)
      if (context.wroteSeq > 0) {
        res.setHeader('X-DB-Seq', String(seq))
        res.appendHeader(
          'Set-Cookie',
          `db_seq=${seq}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`,
        )
      }
      return writeHead.apply(res, args)
    }) as typeof res.writeHead
    storage.run(context, () => handler(req, res))
  }
}

function seqFrom(req: IncomingMessage): number {
  const cookie = /(?:^|;\s*)db_seq=(\d+)/.exec(req.headers.cookie ?? '')?.[1]
  const seq = Number(req.headers['x-db-seq'] ?? cookie ?? 0)
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0
}
