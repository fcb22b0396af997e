import Database from 'better-sqlite3'
import { expectError } from '../../../shared/testing/contract'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { freePort, type Handle } from '../../../shared/net'
import { startDbServer } from '../src/database/db-server'
import { createReplicationLog } from '../src/database/replication-log'

const token = 'a-test-token-of-enough-length'
const auth = { Authorization: `Bearer ${token}` }
const INSERT =
  'INSERT INTO links (code, url, created_at, delete_token_hash) VALUES (?, ?, ?, ?)'

describe('replication: a primary and a replica', () => {
  const data = tempDir()
  let primary: Handle
  let replica: Handle
  beforeAll(async () => {
    const primaryUrl = `http://127.0.0.1:${await freePort()}`
    primary = await startDbServer({
      name: 'db-1',
      port: Number(new URL(primaryUrl).port),
      dataFile: `${data.path}/db-1.db`,
      token,
      replication: { role: 'primary' },
    })
    replica = await startDbServer({
      name: 'db-2',
      dataFile: `${data.path}/db-2.db`,
      token,
      replication: { role: 'replica', primaryUrl },
    })
  })
  afterAll(async () => {
    await replica.close()
    await primary.close()
    data.remove()
  })
  const write = (url: string, params: unknown[], epoch = '1') =>
    postJson(
      url,
      '/execute',
      { sql: INSERT, params },
      { ...auth, 'X-Epoch': epoch },
    )
  const status = async (url: string) =>
    (await send(url, '/replication/status', { headers: auth })).json
  const codes = async (url: string) =>
    (
      await postJson(
        url,
        '/query',
        { sql: 'SELECT code FROM links ORDER BY code' },
        auth,
      )
    ).json.rows

  it("applies the primary's writes on the replica, in order", async () => {
    for (const code of ['rep0001', 'rep0002', 'rep0003']) {
      expect(
        (await write(primary.url, [code, 'https://example.com/', 1, 'h'])).json,
      ).toMatchObject({ changes: 1 })
    }
    const head = (await status(primary.url)).appliedSeq
    await waitFor(
      'the replica to catch up',
      async () => (await status(replica.url)).appliedSeq === head,
    )
    expect(await codes(replica.url)).toEqual(await codes(primary.url))
  })

  it('refuses writes on the replica with 409 read_only', async () => {
    expectError(
      await write(replica.url, ['nope001', 'https://example.com/', 1, 'h']),
      409,
      'read_only',
    )
  })

  it('refuses a write whose result would differ on each replica (the clock, chance) with 400, and takes the value as a param', async () => {
    const UPDATE = 'UPDATE links SET clicks = clicks + 1 WHERE code = ?'
    const refused = [
      'UPDATE links SET created_at = unixepoch() WHERE code = ?',
      'UPDATE links SET clicks = random() WHERE code = ?',
      'UPDATE links SET url = datetime(?) WHERE code = ?',
      'UPDATE links SET created_at = CURRENT_TIMESTAMP WHERE code = ?',
      'DELETE FROM links WHERE created_at < strftime(?, ?)',
      'UPDATE links SET clicks = changes() WHERE code = ?',
    ]
    for (const sql of refused) {
      const reply = await postJson(
        primary.url,
        '/execute',
        { sql, params: ['x'] },
        { ...auth, 'X-Epoch': '1' },
      )
      expectError(reply, 400, 'non_deterministic')
    }
    // Reads may ask the clock: nothing replays them.
    const now = await postJson(
      primary.url,
      '/query',
      { sql: 'SELECT unixepoch() AS now' },
      auth,
    )
    expect(now.status).toBe(200)
    const kept = await postJson(
      primary.url,
      '/execute',
      { sql: UPDATE, params: ['rep0001'] },
      { ...auth, 'X-Epoch': '1' },
    )
    expect(kept.json).toMatchObject({ changes: 1 })
  })

  it('refuses a write without a valid X-Epoch header', async () => {
    expectError(
      await postJson(
        primary.url,
        '/execute',
        { sql: INSERT, params: [] },
        auth,
      ),
      400,
      'missing_epoch',
    )
    expectError(
      await write(
        primary.url,
        ['old0001', 'https://example.com/', 1, 'h'],
        '0',
      ),
      400,
      'missing_epoch',
    )
  })

  it("shows the replica's lag in entries and milliseconds in /metrics", async () => {
    await send(replica.url, '/replication/pause', {
      method: 'POST',
      headers: auth,
    })
    await write(primary.url, ['lag0001', 'https://example.com/', 1, 'h'])
    await write(primary.url, ['lag0002', 'https://example.com/', 1, 'h'])
    const lagging = await waitFor('the replica to see it lags', async () => {
      const metrics = (await send(replica.url, '/metrics')).json.replication
      return metrics.lagEntries === 2 && metrics.lagMs > 0 && metrics
    })
    expect(lagging).toMatchObject({ role: 'replica', paused: true })
    await send(replica.url, '/replication/resume', {
      method: 'POST',
      headers: auth,
    })
    await waitFor(
      'the lag to clear',
      async () =>
        (await send(replica.url, '/metrics')).json.replication.lagEntries === 0,
    )
  })

  it('answers 401 to replication requests without the token', async () => {
    expectError(
      await send(primary.url, '/replication/log?after=0'),
      401,
      'unauthorized',
    )
    expectError(
      await send(primary.url, '/replication/promote', { method: 'POST' }),
      401,
      'unauthorized',
    )
  })
})

describe('replication log', () => {
  it('applies an entry exactly once, however often it is sent, and refuses a gap', () => {
    const db = new Database(':memory:')
    db.exec('CREATE TABLE t (n INTEGER)')
    const log = createReplicationLog(db)
    const entry = (seq: number) => ({
      seq,
      epoch: 1,
      sql: 'INSERT INTO t (n) VALUES (?)',
      params: `[${seq}]`,
      createdAt: 0,
    })
    expect(log.apply(entry(1))).toBe(true)
    expect(log.apply(entry(1))).toBe(false)
    expect(log.apply(entry(2))).toBe(true)
    expect(() => log.apply(entry(4))).toThrow(/gap/)
    expect(db.prepare('SELECT n FROM t ORDER BY n').all()).toEqual([
      { n: 1 },
      { n: 2 },
    ])
    expect(log.position()).toEqual({ seq: 2, epoch: 1 })
    db.close()
  })

  it('logs a write and its data change in one transaction: a failed write leaves no entry', () => {
    const db = new Database(':memory:')
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)')
    const log = createReplicationLog(db)
    const insert = (n: number) => () =>
      db.prepare('INSERT INTO t (n) VALUES (?)').run(n).changes
    const entry = {
      epoch: 1,
      sql: 'INSERT INTO t (n) VALUES (?)',
      params: '[1]',
      createdAt: 0,
    }
    expect(log.write(insert(1), entry)).toEqual({ changes: 1, seq: 1 })
    expect(() => log.write(insert(1), entry)).toThrow(/UNIQUE/)
    expect(log.position().seq).toBe(1)
    expect(log.entriesAfter(0)).toHaveLength(1)
    db.close()
  })
})
