// A LinkStore in one SQLite file. The unique constraint on `code`, not a
// lookup before the insert, is what makes two creations of one code
// impossible: check-then-insert races as soon as there are two requests.
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { CodeTakenError, type Link, type LinkStore } from '../app/link-store'

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS links (
    code TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    delete_token_hash TEXT NOT NULL,
    deleted_at INTEGER,
    clicks INTEGER NOT NULL DEFAULT 0
  );
  -- The analytics tables (used in the analytics database only: a vertical
  -- split, the counts apart from the links they count, which live on
  -- shards). One row per counted click event: a second delivery of an
  -- event is skipped (INSERT OR IGNORE), and only a new row adds its click.
  CREATE TABLE IF NOT EXISTS click_events (
    event_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS click_counts (
    code TEXT PRIMARY KEY,
    clicks INTEGER NOT NULL
  );
  CREATE TRIGGER IF NOT EXISTS count_click AFTER INSERT ON click_events
  BEGIN
    INSERT INTO click_counts (code, clicks) VALUES (NEW.code, 1)
      ON CONFLICT (code) DO UPDATE SET clicks = clicks + 1;
  END`

export interface LinkRow {
  code: string
  url: string
  created_at: number
  expires_at: number | null
  delete_token_hash: string
  deleted_at: number | null
  clicks: number
}

// Every statement takes its values as parameters, never inside the SQL text.
export const SQL = {
  insert: `INSERT INTO links (code, url, created_at, expires_at, delete_token_hash)
    VALUES (@code, @url, @createdAt, @expiresAt, @deleteTokenHash)`,
  find: 'SELECT * FROM links WHERE code = ?',
  click: 'UPDATE links SET clicks = clicks + 1 WHERE code = ?',
  markDeleted: 'UPDATE links SET deleted_at = ? WHERE code = ?',
}

export function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  // Trade-off: WAL lets readers run beside the writer; NORMAL sync may lose the
  // last transactions on a power cut (not on a process crash).
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(SCHEMA)
  return db
}

export function createSqliteStore(file: string): LinkStore {
  const db = openDatabase(file)
  const insert = db.prepare(SQL.insert)
  const find = db.prepare<[string], LinkRow>(SQL.find)
  const click = db.prepare(SQL.click)
  const remove = db.prepare(SQL.markDeleted)

  return {
    async insert(link) {
      try {
        insert.run(link)
      } catch (error: unknown) {
        if (isUniqueViolation(error)) throw new CodeTakenError(link.code)
        throw error
      }
    },
    async find(code) {
      const row = find.get(code)
      return row && toLink(row)
    },
    async recordClick(code) {
      click.run(code)
    },
    async markDeleted(code, deletedAt) {
      remove.run(deletedAt, code)
    },
    async close() {
      db.close()
    },
  }
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return (
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  )
}

export function toLink(row: LinkRow): Link {
  return {
    code: row.code,
    url: row.url,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    deleteTokenHash: row.delete_token_hash,
    deletedAt: row.deleted_at,
    clicks: row.clicks,
  }
}
