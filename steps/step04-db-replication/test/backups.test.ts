import Database from 'better-sqlite3'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { newClient, postJson, send } from '../../../shared/testing/http'
import { counterSum } from '../../../shared/testing/metrics'
import { npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { startTraffic } from '../../../shared/testing/traffic'
import { ROOT } from '../../../shared/steps'
import { waitFor } from '../../../shared/wait-for'
import type { Backup } from '../src/database/backups'
import { BackupTooOldError, rebuild } from '../src/database/recovery'
import {
  createReplicationLog,
  type LogEntry,
} from '../src/database/replication-log'
import { openDatabase } from '../src/database/sqlite-store'
import { startSystem, type System, type SystemOptions } from '../src/system'

const adminToken = 'an-admin-token-of-enough-length'
const admin = { Authorization: `Bearer ${adminToken}` }
const dbToken = 'the-apps-db-token-of-enough-length'
const fast: Omit<SystemOptions, 'dataDir'> = {
  adminToken,
  dbToken,
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
}
const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!

interface Progress {
  totalPages: number
  remainingPages: number
}
// The backup's lines as they stream, each handed to `onProgress` as it
// arrives, while the node is still copying.
async function backupStreamed(
  url: string,
  onProgress: (line: Progress) => Promise<void>,
): Promise<Backup> {
  const reply = await fetch(`${url}/admin/backup`, {
    method: 'POST',
    headers: admin,
  })
  const lines = createInterface({
    input: Readable.fromWeb(reply.body as never),
  })
  for await (const line of lines) {
    const message = JSON.parse(line) as Progress & { done?: Backup }
    if (message.done) return message.done
    await onProgress(message)
  }
  throw new Error('The backup ended without its last line')
}
async function backup(url: string): Promise<Backup> {
  const reply = await fetch(`${url}/admin/backup`, {
    method: 'POST',
    headers: admin,
  })
  const lines = (await reply.text()).trim().split('\n')
  return JSON.parse(lines.at(-1)!).done
}
async function logAfter(url: string, after = 0): Promise<LogEntry[]> {
  const entries: LogEntry[] = []
  for (;;) {
    const reply = await send(url, `/admin/log?after=${after}`, {
      headers: admin,
    })
    if (reply.json.entries.length === 0) return entries
    entries.push(...reply.json.entries)
    after = entries.at(-1)!.seq
  }
}
const linksOf = (db: Database.Database) =>
  db.prepare('SELECT * FROM links ORDER BY code').all()
const appliedSeq = async (system: System, name: string) =>
  (await send(node(system, name).url, '/metrics')).json.replication.appliedSeq
const headSeq = (system: System) => appliedSeq(system, 'db-1')

// Many pages, so that a backup takes many steps of 100 pages to copy them:
// `count` links with 2 KB URLs, about a page each, in one logged statement
// that the replicas apply too.
async function fill(system: System, count: number) {
  const reply = await postJson(
    node(system, 'db-1').url,
    '/execute',
    {
      sql: `INSERT INTO links (code, url, created_at, delete_token_hash)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        SELECT ? || i, ? || hex(zeroblob(1000)), ?, ? FROM n`,
      params: [
        count,
        'fill-',
        'https://example.com/',
        Date.now(),
        'x'.repeat(64),
      ],
    },
    { Authorization: `Bearer ${dbToken}`, 'X-Epoch': '1' },
  )
  expect(reply.json.changes).toBe(count)
}

describe('backups: a copy of the data at one seq, and the log to bring it forward', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ ...fast, dataDir: data.path })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('takes a backup from a replica under a steady write load: it holds exactly the rows of its seq, and the primary accepts every write meanwhile', async () => {
    await fill(system, 2000)
    const traffic = await startTraffic(system.url)
    await traffic.more(20)
    // Sampled once the copy has begun (its first line) and once it ended.
    const progress: Progress[] = []
    let atStart = { primary: 0, replica: 0 }
    const taken = await backupStreamed(
      node(system, 'db-2').url,
      async (line) => {
        progress.push(line)
        if (progress.length === 1)
          atStart = {
            primary: await headSeq(system),
            replica: await appliedSeq(system, 'db-2'),
          }
      },
    )
    const primaryAtEnd = await headSeq(system)
    await traffic.more(20)
    await traffic.stop()
    expect(traffic.failures).toEqual([])
    // Copied in many steps, and written to all along: the primary went on,
    // and the replica applied entries mid-copy that the copy holds.
    expect(progress[0]!.totalPages).toBeGreaterThan(1000)
    expect(progress.filter((p) => p.remainingPages > 0).length).toBeGreaterThan(
      5,
    )
    expect(primaryAtEnd).toBeGreaterThan(atStart.primary)
    expect(taken.seq).toBeGreaterThan(atStart.replica)
    // The same seq, built again from nothing by replaying the log.
    const replayed = openDatabase(':memory:')
    const log = createReplicationLog(replayed)
    for (const entry of await logAfter(node(system, 'db-1').url))
      if (entry.seq <= taken.seq) log.apply(entry)
    const copy = new Database(taken.file, { readonly: true })
    try {
      expect(linksOf(copy)).toEqual(linksOf(replayed))
      expect(linksOf(copy).length).toBeGreaterThan(2000)
    } finally {
      copy.close()
      replayed.close()
    }
  })

  it('recovers to seq N: a link deleted at seq N+1 exists again, a link created after N does not, and the live system gets the lost link back', async () => {
    const client = newClient()
    const victim = await client.createLink(system.url)
    const taken = await backup(node(system, 'db-2').url)
    const kept = await client.createLink(system.url)
    const beforeMistake = await headSeq(system)
    const deleted = await client.send(system.url, `/api/links/${victim.code}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${victim.deleteToken}` },
    })
    expect(deleted.status).toBe(204)
    const later = await client.createLink(system.url)

    const out = join(data.path, 'restored', `seq-${beforeMistake}.db`)
    const rebuilt = rebuild(
      taken,
      await logAfter(node(system, 'db-1').url),
      beforeMistake,
      out,
    )
    const alive = rebuilt.alive.map((row) => row.code)
    expect(rebuilt.seq).toBe(beforeMistake)
    expect(alive).toEqual(expect.arrayContaining([victim.code, kept.code]))
    expect(alive).not.toContain(later.code)

    const restored = await postJson(
      node(system, 'db-1').url,
      '/admin/restore',
      { rows: rebuilt.alive },
      admin,
    )
    expect(restored.json.restored).toEqual([victim.code])
    await waitFor(
      'the restored link to redirect',
      async () => (await send(system.url, `/${victim.code}`)).status === 302,
    )
  })

  it("answers 401 to backups, logs and restores without the admin token, even with the apps' token", async () => {
    const url = node(system, 'db-2').url
    const apps = { Authorization: `Bearer ${dbToken}` }
    // The apps' token opens /query on this very node: it is a real one.
    const query = { sql: 'SELECT COUNT(*) AS n FROM links', params: [] }
    expect((await postJson(url, '/query', query, apps)).status).toBe(200)
    for (const headers of [{}, apps]) {
      expect(
        (await send(url, '/admin/backup', { method: 'POST', headers })).status,
      ).toBe(401)
      expect(
        (await postJson(url, '/admin/restore', { rows: [] }, headers)).status,
      ).toBe(401)
      expect((await send(url, '/admin/log', { headers })).status).toBe(401)
    }
  })
})

describe('backups: the log kept, and where a backup comes from', () => {
  it('refuses to bring forward a backup older than the log kept, saying so', async () => {
    const data = tempDir()
    const system = await startSystem({
      ...fast,
      dataDir: data.path,
      logRetention: 50,
    })
    try {
      const taken = await backup(node(system, 'db-2').url)
      const client = newClient()
      for (let i = 0; i < 160; i++) await client.createLink(system.url)
      const entries = await logAfter(node(system, 'db-1').url)
      expect(entries[0]!.seq).toBeGreaterThan(taken.seq + 1)
      const attempt = () =>
        rebuild(taken, entries, entries.at(-1)!.seq, join(data.path, 'r.db'))
      expect(attempt).toThrow(BackupTooOldError)
      expect(attempt).toThrow(
        /cannot be brought to seq \d+\. Take a newer backup/,
      )
    } finally {
      await system.close()
      data.remove()
    }
  })

  it('takes the backup of npm run backup from a replica, never from the primary while a replica is up', async () => {
    const started = await npmStart('step04')
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'shared', 'cli', 'backup.ts'), 'step04'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, RUN_DIR: join(started.runFile, '..') },
        },
      )
      expect(result.stdout).toMatch(/Backup of db-[23] at seq \d+/)
      const databases = started.topology.nodes.filter(
        (n) => n.role === 'database',
      )
      const backups = await Promise.all(
        databases.map((n) => counterSum([n], 'db.backups', 'database')),
      )
      expect(backups).toEqual([0, expect.any(Number), expect.any(Number)])
      expect(backups[1]! + backups[2]!).toBe(1)
    } finally {
      await started.stop('ctrl-c')
    }
  })
})
