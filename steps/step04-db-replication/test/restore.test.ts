// npm run restore against a running step: the command as a learner runs
// it, in its own process, reading the topology file that npm start writes
// (here written for a system the test started in-process).
import Database from 'better-sqlite3'
import { execFile } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { newClient, postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { ROOT } from '../../../shared/steps'
import { describeNodes, type Topology } from '../../../shared/topology'
import { waitFor } from '../../../shared/wait-for'
import { seqAt } from '../src/database/recovery'
import type { LogEntry } from '../src/database/replication-log'
import { startSystem, type System } from '../src/system'

const adminToken = 'an-admin-token-of-enough-length'
const dbToken = 'the-apps-db-token-of-enough-length'
const apps = { Authorization: `Bearer ${dbToken}`, 'X-Epoch': '1' }

describe('npm run restore: point-in-time recovery of a running step', () => {
  const data = tempDir()
  const run = tempDir()
  let system: System
  let primary: string
  beforeAll(async () => {
    system = await startSystem({
      dataDir: data.path,
      adminToken,
      dbToken,
      healthIntervalMs: 100,
      monitorIntervalMs: 100,
    })
    primary = system.nodes.find((n) => n.name === 'db-1')!.url
    const topology: Topology = {
      step: 'step04-db-replication',
      frontDoor: system.url,
      dataDir: data.path,
      control: { url: '', token: '' },
      adminToken,
      nodes: describeNodes(system.nodes, system.url),
      links: [],
    }
    writeFileSync(join(run.path, 'step04.json'), JSON.stringify(topology))
  })
  afterAll(async () => {
    await system.close()
    data.remove()
    run.remove()
  })

  // Async: the system under test runs in this very process.
  const restore = (...args: string[]) =>
    new Promise<{ status: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'shared/cli/restore.ts'),
          'step04',
        ].concat(args),
        { cwd: ROOT, env: { ...process.env, RUN_DIR: run.path } },
        (error, stdout, stderr) =>
          resolve({
            status: error ? Number(error.code) : 0,
            output: stdout + stderr,
          }),
      )
    })
  const headSeq = async () =>
    (await send(primary, '/metrics')).json.replication.appliedSeq as number
  const backup = async () => {
    const db2 = system.nodes.find((n) => n.name === 'db-2')!.url
    const reply = await send(db2, '/admin/backup', {
      method: 'POST',
      headers: { Authorization: `Bearer ${adminToken}` },
    })
    expect(reply.body).toMatch(/"done"/)
  }
  const execute = async (sql: string, params: unknown[]) =>
    (await postJson(primary, '/execute', { sql, params }, apps)).json
  const alive = async (pattern: string) => {
    const sql =
      'SELECT COUNT(*) AS n FROM links WHERE deleted_at IS NULL AND code LIKE ?'
    const reply = await postJson(
      primary,
      '/query',
      { sql, params: [pattern] },
      apps,
    )
    return reply.json.rows[0].n as number
  }

  it('finds the seq of a moment: the last log entry written at or before it', () => {
    const entries = [1000, 2000, 2000, 3000].map((createdAt, i): LogEntry => ({
      seq: i + 1,
      epoch: 1,
      sql: 'DELETE FROM links',
      params: '[]',
      createdAt,
    }))
    expect(seqAt(entries, 999)).toBeUndefined()
    expect(seqAt(entries, 1000)).toBe(1)
    expect(seqAt(entries, 2999)).toBe(3)
    expect(seqAt(entries, 9999)).toBe(4)
  })

  it('restores to --to-time: the writes up to that moment, not one made a millisecond after', async () => {
    const client = newClient()
    const victim = await client.createLink(system.url)
    await backup()
    const before = await headSeq()
    const moment = Date.now()
    await waitFor('the clock to pass the moment', () => Date.now() > moment)
    const deleted = await client.send(system.url, `/api/links/${victim.code}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${victim.deleteToken}` },
    })
    expect(deleted.status).toBe(204)
    const later = await client.createLink(system.url)

    const at = new Date(moment).toISOString()
    const { status, output } = await restore('--to-time', at)
    expect(output).toContain(`${at} is seq ${before}`)
    expect(output).toContain(
      `Brought back through db-1: 1 link(s): ${victim.code}`,
    )
    expect(status).toBe(0)
    const file = new Database(join(data.path, 'restored', `seq-${before}.db`), {
      readonly: true,
    })
    try {
      const codes = file.prepare('SELECT code FROM links').pluck().all()
      expect(codes).toContain(victim.code)
      expect(codes).not.toContain(later.code)
    } finally {
      file.close()
    }
    expect(await alive(victim.code)).toBe(1)
  })

  it('refuses a --to-seq past the newest write of the log, and says where the log ends', async () => {
    await backup()
    const head = await headSeq()
    const { status, output } = await restore('--to-seq', String(head + 10))
    expect(output).toContain(
      `seq ${head + 10} is past the end of the log: the newest write is seq ${head}`,
    )
    expect(status).toBe(2)
    expect(existsSync(join(data.path, 'restored', `seq-${head + 10}.db`))).toBe(
      false,
    )
  })

  it('refuses --shard in a step without shards', async () => {
    const { status, output } = await restore(
      '--shard',
      'shard-1',
      '--to-seq',
      '1',
    )
    expect(output).toMatch(/has no shards: leave out --shard/)
    expect(status).toBe(2)
  })

  it('brings back more links than one request to the primary may carry (5 MB), a request at a time', async () => {
    // 3,000 links with 2 KB URLs: over 6 MB of rows. Then a clean-up
    // script with the wrong pattern deletes them all.
    const count = 3000
    const filled = await execute(
      `INSERT INTO links (code, url, created_at, delete_token_hash)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        SELECT ? || i, ? || hex(zeroblob(1000)), ?, ? FROM n`,
      [count, 'bulk-', 'https://example.com/', Date.now(), 'x'.repeat(64)],
    )
    expect(filled.changes).toBe(count)
    await backup()
    const mistake = await execute('DELETE FROM links WHERE code LIKE ?', [
      'bulk-%',
    ])
    expect(mistake.changes).toBe(count)

    const { status, output } = await restore('--to-seq', String(filled.seq))
    expect(output).toContain(`Brought back through db-1: ${count} link(s)`)
    const requests = Number(/request \d+ of (\d+)/.exec(output)?.[1])
    expect(requests).toBeGreaterThan(1)
    expect(status).toBe(0)
    expect(await alive('bulk-%')).toBe(count)
  })
})
