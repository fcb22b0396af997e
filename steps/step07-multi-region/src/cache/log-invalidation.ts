// Invalidation from the replication stream, the way large sites invalidate
// from their commit log: each app server follows a database node of its own
// region and, for every change to a link that node has applied, drops its
// cached copies (the mark in Redis first, so that no fill can bring the old
// copy back, then its own L1). A region's caches can never be refilled with
// a deleted link by a replica that has not applied the delete: the news
// comes from that very replica, after it applied it. Trade-off: until the
// replica applies a change, the region may still serve the old copy (its
// lag); a change missed while the followed node changes waits for the TTLs.
import { delay } from '../../../../shared/wait-for'
import { RESTORE } from '../database/backups'
import type { DbNodes } from '../database/db-nodes'
import type { LogEntry } from '../database/replication-log'
import { SQL } from '../database/sqlite-store'
import { httpCall } from '../common/http-call'

export interface LogInvalidationOptions {
  nodes: Pick<DbNodes, 'topology'>
  region: string
  token: string
  /** Drops every copy of this code in this app server's region. */
  invalidate(code: string): void
}

/** The code whose cached copies an applied entry makes wrong, if any. */
export function changedCode(entry: LogEntry): string | undefined {
  const params = JSON.parse(entry.params) as unknown
  if (entry.sql === SQL.markDeleted) return (params as string[])[1]
  if (entry.sql === SQL.insert || entry.sql === RESTORE)
    return (params as { code?: string }).code
  return undefined // a click: clicks are never cached
}

export function followChanges({
  nodes,
  region,
  token,
  invalidate,
}: LogInvalidationOptions): () => void {
  const headers = { Authorization: `Bearer ${token}` }
  const stopped = new AbortController()
  // Ended by a timer or by stopping. (Not AbortSignal.any: Node 20 may
  // garbage-collect that while the fetch waits, and it waits forever.)
  const get = async <T>(url: string): Promise<T> => {
    const call = new AbortController()
    const timer = setTimeout(() => call.abort(), 3000)
    const stop = () => call.abort()
    stopped.signal.addEventListener('abort', stop)
    try {
      const reply = await httpCall(url, { headers, signal: call.signal })
      if (!reply.ok) throw new Error(`${url}: ${reply.status}`)
      return (await reply.json()) as T
    } finally {
      clearTimeout(timer)
      stopped.signal.removeEventListener('abort', stop)
    }
  }
  // A replica of this region, else the primary when it is here.
  const source = () => {
    const { replicas, primary } = nodes.topology()
    return (
      replicas.find((replica) => replica.reachable)?.url ??
      (primary.region === region ? primary.url : undefined)
    )
  }

  void (async () => {
    let following: string | undefined
    let after = 0
    while (!stopped.signal.aborted) {
      try {
        const url = source()
        if (!url) throw new Error('no database node in this region')
        if (url !== following) {
          // From now on: what came before is in no cache we could trust less.
          after = (
            await get<{ appliedSeq: number }>(`${url}/replication/status`)
          ).appliedSeq
          following = url
        }
        const { entries } = await get<{ entries: LogEntry[] }>(
          `${url}/replication/changes?after=${after}&waitMs=1000`,
        )
        for (const entry of entries) {
          const code = changedCode(entry)
          if (code) invalidate(code)
          after = entry.seq
        }
      } catch {
        following = undefined
        await delay(200)
      }
    }
  })()
  return () => stopped.abort()
}
