// Backups, for the mistakes that replication copies faithfully: a DELETE
// by accident reaches every replica in milliseconds. A backup is a
// consistent copy of the data file at one seq of the log; the log after it
// brings the copy forward to any later moment (point-in-time recovery).
// Trade-off: taken from a replica, a backup costs the primary nothing, and
// is as old as that replica's lag.
import Database from 'better-sqlite3'
import { mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import express from 'express'
import { HttpError, badRequest } from '../common/http-error'
import type { Metrics } from '../common/metrics'
import { readStamp } from './recovery'
import type { Replication } from './replication'

export interface Backup {
  file: string
  /** The log position the copy holds exactly. */
  seq: number
  epoch: number
  bytes: number
}

// The row as it was before the mistake, over whatever is there now.
export const RESTORE = `INSERT OR REPLACE INTO links
  (code, url, created_at, expires_at, delete_token_hash, deleted_at, clicks)
  VALUES (@code, @url, @created_at, @expires_at, @delete_token_hash, @deleted_at, @clicks)`

// A restored row is input like any other: only a whole, live link is one.
function isLinkRow(
  row: unknown,
): row is Record<string, string | number | null> {
  const r = row as Record<string, unknown>
  const nullable = (v: unknown) => v === null || typeof v === 'number'
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.code === 'string' &&
    typeof r.url === 'string' &&
    /^https?:\/\//i.test(r.url) &&
    typeof r.created_at === 'number' &&
    nullable(r.expires_at) &&
    typeof r.delete_token_hash === 'string' &&
    r.deleted_at === null &&
    typeof r.clicks === 'number'
  )
}

export function backupsDir(dataFile: string): string {
  return join(dirname(dataFile), 'backups')
}

export function adminRouter(
  db: Database.Database,
  {
    name,
    dataFile,
    replication,
    metrics,
  }: {
    name: string
    dataFile: string
    replication: Replication
    metrics: Metrics
  },
): express.Router {
  const router = express.Router()

  // SQLite's online backup API copies the file page by page while this node
  // goes on applying the log; writes it makes in between reach the copy too,
  // so the copy ends consistent. One line of JSON per step, for progress.
  router.post('/backup', async (req, res) => {
    metrics.count('db.backups')
    const dir = backupsDir(dataFile)
    mkdirSync(dir, { recursive: true })
    const file = join(
      dir,
      `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.db`,
    )
    res.setHeader('Content-Type', 'application/x-ndjson')
    await db.backup(file, {
      progress: ({ totalPages, remainingPages }) => {
        res.write(JSON.stringify({ totalPages, remainingPages }) + '\n')
        return 100 // pages per step: other work runs between the steps
      },
    })
    // One self-contained file, without the -wal and -shm beside it.
    const copy = new Database(file)
    copy.pragma('journal_mode = DELETE')
    copy.close()
    res.end(JSON.stringify({ done: stamp(file) }) + '\n')
  })

  router.get('/log', (req, res) => {
    const after = Number(req.query.after ?? 0)
    if (!Number.isSafeInteger(after) || after < 0)
      throw badRequest('invalid_after', 'after must be a seq number')
    res.json({
      entries: replication.log.entriesAfter(after),
      oldestSeq: replication.log.oldestSeq(),
      headSeq: replication.log.position().seq,
    })
  })

  // The primary takes back links that a recovery found alive before the
  // mistake and missing or deleted now. Each is an ordinary logged write,
  // so the replicas apply it too; a link alive now is left alone.
  router.post('/restore', express.json({ limit: '5mb' }), async (req, res) => {
    const rows: unknown = req.body?.rows
    if (!Array.isArray(rows) || !rows.every(isLinkRow))
      throw badRequest('invalid_rows', 'Send { rows: [...] } of live link rows')
    if (replication.status().role !== 'primary')
      throw new HttpError(409, 'read_only', 'Send the restore to the primary')
    const live = db.prepare<[string], { deleted_at: number | null }>(
      'SELECT deleted_at FROM links WHERE code = ?',
    )
    const restored: string[] = []
    for (const row of rows) {
      const now = live.get(String(row.code))
      if (now && now.deleted_at === null) continue
      const { epoch } = replication.status()
      await replication.write(
        () => db.prepare(RESTORE).run(row).changes,
        RESTORE,
        row,
        epoch,
      )
      restored.push(String(row.code))
    }
    res.json({ restored })
  })

  const stamp = (file: string): Backup => ({
    file,
    ...readStamp(file),
    bytes: statSync(file).size,
  })
  return router
}
