// The replication log: every write the primary commits is also appended here,
// in the same SQLite transaction, as (seq, epoch, sql, params). A replica
// applies the entries in seq order, each in a transaction that also records
// how far it got, so a re-sent entry changes nothing and a restart resumes.
import type Database from 'better-sqlite3'

export interface LogEntry {
  seq: number
  epoch: number
  sql: string
  params: string
  createdAt: number
}

export type Role = 'primary' | 'replica'

export interface Position {
  seq: number
  /** The epoch of the entry at `seq`: two logs agree up to seq when it matches. */
  epoch: number
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS replication_log (
    seq INTEGER PRIMARY KEY,
    epoch INTEGER NOT NULL,
    sql TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS replication_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  )`

// The log is also the archive that point-in-time recovery replays on top of
// a backup. Trade-off: it grows by one entry per write (every click), so it
// keeps only the newest `retainEntries`; a backup older than that can no
// longer be brought forward, and a replica further behind resyncs instead.
export function createReplicationLog(
  db: Database.Database,
  { retainEntries = 100_000 }: { retainEntries?: number } = {},
) {
  db.exec(SCHEMA)
  const getMeta = db.prepare<[string], { value: string }>(
    'SELECT value FROM replication_meta WHERE key = ?',
  )
  const setMeta = db.prepare(
    'INSERT OR REPLACE INTO replication_meta (key, value) VALUES (?, ?)',
  )
  const insert = db.prepare(
    'INSERT INTO replication_log (seq, epoch, sql, params, created_at) VALUES (@seq, @epoch, @sql, @params, @createdAt)',
  )
  const after = db.prepare<[number, number], LogEntry>(
    'SELECT seq, epoch, sql, params, created_at AS createdAt FROM replication_log WHERE seq > ? ORDER BY seq LIMIT ?',
  )
  const at = db.prepare<[number], { epoch: number }>(
    'SELECT epoch FROM replication_log WHERE seq = ?',
  )
  const oldest = db.prepare<[], { seq: number | null }>(
    'SELECT min(seq) AS seq FROM replication_log',
  )
  const prune = db.prepare('DELETE FROM replication_log WHERE seq <= ?')
  const meta = (key: string) => getMeta.get(key)?.value

  const log = {
    position(): Position {
      return {
        seq: Number(meta('applied_seq') ?? 0),
        epoch: Number(meta('applied_epoch') ?? 0),
      }
    },
    role: () => meta('role') as Role | undefined,
    epoch: () => Number(meta('epoch') ?? 1),
    primaryUrl: () => meta('primary_url'),
    remember(values: { role?: Role; epoch?: number; primaryUrl?: string }) {
      if (values.role) setMeta.run('role', values.role)
      if (values.epoch) setMeta.run('epoch', String(values.epoch))
      if (values.primaryUrl !== undefined)
        setMeta.run('primary_url', values.primaryUrl)
    },
    /** Primary: run a write and log it, both or neither. */
    write: db.transaction((run: () => number, entry: Omit<LogEntry, 'seq'>) => {
      const changes = run()
      if (changes === 0) return { changes, seq: log.position().seq }
      const seq = log.position().seq + 1
      record({ ...entry, seq })
      return { changes, seq }
    }),
    /** Replica: apply one entry from the primary, exactly once. */
    apply: db.transaction((entry: LogEntry) => {
      const { seq } = log.position()
      if (entry.seq <= seq) return false // already applied: a re-sent entry
      if (entry.seq !== seq + 1)
        throw new Error(`Log gap: have ${seq}, got ${entry.seq}`)
      db.prepare(entry.sql).run(JSON.parse(entry.params))
      record(entry)
      return true
    }),
    entriesAfter: (seq: number, limit = 500) => after.all(seq, limit),
    /** The first seq the log still holds; entries before it were pruned. */
    oldestSeq: () => oldest.get()?.seq ?? log.position().seq + 1,
    /** Whether this log holds `position`: the same entry at the same seq. */
    agrees(position: Position): boolean {
      if (position.seq === 0) return true
      if (position.seq > log.position().seq) return false
      return at.get(position.seq)?.epoch === position.epoch
    },
    /** Replica: replace every table with a snapshot of the primary. */
    restore: db.transaction((snapshot: Snapshot) => {
      const tables = Object.entries(snapshot.tables)
      for (const [table] of tables) db.prepare(`DELETE FROM ${table}`).run()
      // Tables with triggers first, while the tables their triggers change
      // are empty: the copy's counts already hold what the triggers added.
      const triggered = new Set(
        db
          .prepare<[], { tbl_name: string }>(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'",
          )
          .all()
          .map((trigger) => trigger.tbl_name),
      )
      tables.sort(
        ([a], [b]) => Number(triggered.has(b)) - Number(triggered.has(a)),
      )
      for (const [table, rows] of tables) {
        for (const row of rows) {
          const columns = Object.keys(row)
          const names = columns.map((c) => `@${c}`).join(', ')
          db.prepare(
            `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${names})`,
          ).run(row)
        }
      }
      db.prepare('DELETE FROM replication_log').run()
      setMeta.run('applied_seq', String(snapshot.position.seq))
      setMeta.run('applied_epoch', String(snapshot.position.epoch))
    }),
    snapshot: db.transaction((): Snapshot => {
      const names = db
        .prepare<[], { name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'replication_%' AND name NOT LIKE 'sqlite_%'",
        )
        .all()
      const tables = Object.fromEntries(
        names.map(({ name }) => [
          name,
          db.prepare(`SELECT * FROM ${name}`).all() as Record<
            string,
            unknown
          >[],
        ]),
      )
      return { position: log.position(), tables }
    }),
  }

  function record(entry: LogEntry) {
    insert.run(entry)
    setMeta.run('applied_seq', String(entry.seq))
    setMeta.run('applied_epoch', String(entry.epoch))
    // Pruned in batches: a delete per write would double every write's cost.
    if (entry.seq % 100 === 0) prune.run(entry.seq - retainEntries)
  }
  return log
}

export interface Snapshot {
  position: Position
  tables: Record<string, Record<string, unknown>[]>
}

export type ReplicationLog = ReturnType<typeof createReplicationLog>
