// Point-in-time recovery: a backup, brought forward by the log to the moment
// just before a mistake, in a file of its own. Starting that file as a
// replica would pull the mistake again from the next seq; instead the rows
// it holds alive go back into the live system through the primary.
import Database from 'better-sqlite3'
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Backup } from './backups'
import { createReplicationLog, type LogEntry } from './replication-log'

/** The backup is older than the oldest entry the log still keeps. */
export class BackupTooOldError extends Error {
  override name = 'BackupTooOldError'
}

export interface Rebuilt {
  file: string
  seq: number
  /** Every link alive at `seq`, as rows of the links table. */
  alive: Record<string, string | number | null>[]
}

export function rebuild(
  backup: Pick<Backup, 'file' | 'seq'>,
  entries: LogEntry[],
  toSeq: number,
  out: string,
): Rebuilt {
  const needed = entries.filter((e) => e.seq > backup.seq && e.seq <= toSeq)
  // Replaying with a hole would build a state that never existed.
  if (toSeq > backup.seq && needed[0]?.seq !== backup.seq + 1) {
    throw new BackupTooOldError(
      `The backup holds seq ${backup.seq}, but the log kept starts at seq ${entries[0]?.seq ?? '(none)'}: ` +
        `the entries in between were pruned, so this backup cannot be brought to seq ${toSeq}. Take a newer backup.`,
    )
  }
  mkdirSync(dirname(out), { recursive: true })
  copyFileSync(backup.file, out)
  const db = new Database(out)
  try {
    const log = createReplicationLog(db, { retainEntries: Infinity })
    for (const entry of needed) log.apply(entry)
    const alive = db
      .prepare('SELECT * FROM links WHERE deleted_at IS NULL ORDER BY code')
      .all() as Rebuilt['alive']
    return { file: out, seq: log.position().seq, alive }
  } finally {
    db.close()
  }
}

/** The log position a backup file holds, read from the copy itself. */
export function readStamp(file: string): { seq: number; epoch: number } {
  const db = new Database(file, { readonly: true })
  try {
    return createReplicationLog(db, { retainEntries: Infinity }).position()
  } finally {
    db.close()
  }
}

/** The seq of the last entry written at or before `time` (epoch ms). */
export function seqAt(entries: LogEntry[], time: number): number | undefined {
  return entries.filter((entry) => entry.createdAt <= time).at(-1)?.seq
}
