import { tempDir } from '../../../shared/testing/temp'
import { send, postJson } from '../../../shared/testing/http'
import { expectError } from '../../../shared/testing/contract'
import { startDbServer } from '../src/database/db-server'
import type { Handle } from '../../../shared/net'

const token = 'a-test-token-of-enough-length'
const auth = { Authorization: `Bearer ${token}` }

describe('database server: one SQLite file behind HTTP and a token', () => {
  const data = tempDir()
  let db: Handle
  beforeAll(async () => {
    db = await startDbServer({
      name: 'database',
      dataFile: `${data.path}/links.db`,
      token,
    })
  })
  afterAll(async () => {
    await db.close()
    data.remove()
  })
  const query = (sql: string, params: unknown = [], headers = auth) =>
    postJson(db.url, '/query', { sql, params }, headers)
  const execute = (sql: string, params: unknown = []) =>
    postJson(db.url, '/execute', { sql, params }, auth)

  it('binds to loopback by default', () => {
    expect(new URL(db.url).hostname).toBe('127.0.0.1')
  })

  it('answers 401 without a token and with a wrong one', async () => {
    expectError(
      await query('SELECT 1', [], {} as typeof auth),
      401,
      'unauthorized',
    )
    expectError(
      await query('SELECT 1', [], { Authorization: 'Bearer wrong-token' }),
      401,
      'unauthorized',
    )
    expectError(
      await query('SELECT 1', [], { Authorization: `Bearer ${token}x` }),
      401,
      'unauthorized',
    )
  })

  it('runs a parameterised write and reads it back', async () => {
    const insert = await execute(
      'INSERT INTO links (code, url, created_at, delete_token_hash) VALUES (?, ?, ?, ?)',
      ['dbtest1', 'https://example.com/', 1, 'hash'],
    )
    expect(insert.json).toEqual({ changes: 1 })
    const read = await query('SELECT code, url FROM links WHERE code = ?', [
      'dbtest1',
    ])
    expect(read.json).toEqual({
      rows: [{ code: 'dbtest1', url: 'https://example.com/' }],
    })
  })

  it('answers 409 constraint for a duplicate code', async () => {
    const sql =
      'INSERT INTO links (code, url, created_at, delete_token_hash) VALUES (?, ?, ?, ?)'
    await execute(sql, ['dbdup01', 'https://example.com/', 1, 'hash'])
    expectError(
      await execute(sql, ['dbdup01', 'https://example.com/', 1, 'hash']),
      409,
      'constraint',
    )
  })

  it('refuses more than one statement per call', async () => {
    expectError(await query('SELECT 1; DROP TABLE links'), 400, 'invalid_sql')
    expect((await query('SELECT count(*) AS n FROM links')).status).toBe(200)
  })

  it('refuses values written into the SQL instead of passed as params', async () => {
    expectError(
      await query("SELECT * FROM links WHERE code = 'x' OR 1=1"),
      400,
      'literal_in_sql',
    )
  })

  it('refuses params that are not strings, numbers or null', async () => {
    expectError(
      await query('SELECT ?', [{ nested: true }]),
      400,
      'invalid_params',
    )
    expectError(await query('SELECT ?', 'not-a-list'), 400, 'invalid_params')
  })

  it('sends reads to /query and writes to /execute', async () => {
    expectError(await query('DELETE FROM links'), 400, 'wrong_endpoint')
    expectError(await execute('SELECT * FROM links'), 400, 'wrong_endpoint')
  })

  it('answers bad SQL, malformed JSON and an oversize body with a 4xx and keeps serving', async () => {
    expectError(await query('SELECT FROM WHERE'), 400, 'invalid_sql')
    const malformed = await send(db.url, '/query', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"sql":',
    })
    expectError(malformed, 400, 'invalid_json')
    expectError(
      await query('SELECT ?', ['x'.repeat(100_000)]),
      413,
      'payload_too_large',
    )
    expect((await send(db.url, '/healthz')).json).toEqual({
      status: 'ok',
      node: 'database',
    })
  })

  it('answers SQLite errors in a statement with a 4xx, never a 500', async () => {
    expectError(await query('SELECT ?', []), 400, 'invalid_params')
    const notNull = await execute('INSERT INTO links (code) VALUES (?)', ['x'])
    expectError(notNull, 400, 'invalid_sql')
    expectError(await query('SELECT * FROM no_such_table'), 400, 'invalid_sql')
  })

  it("refuses schema changes, ATTACH, PRAGMA, VACUUM INTO and SQLite's own tables with 400, and keeps serving", async () => {
    const refused = [
      ['/execute', 'DROP TABLE links'],
      ['/execute', 'CREATE TABLE t (x)'],
      ['/execute', 'ALTER TABLE links ADD COLUMN x'],
      ['/query', 'PRAGMA table_info(links)'],
      ['/execute', 'PRAGMA journal_mode = DELETE'],
      ['/query', 'SELECT * FROM pragma_table_info(?)'],
      ['/query', 'SELECT name FROM pragma_database_list'],
      ['/execute', 'ATTACH DATABASE ? AS other'],
      ['/execute', 'VACUUM INTO ?'],
      ['/query', 'SELECT sql FROM sqlite_master'],
      ['/query', 'SELECT load_extension(?)'],
    ]
    for (const [path, sql] of refused) {
      const reply = await postJson(db.url, path!, { sql, params: [] }, auth)
      expectError(reply, 400, 'statement_not_allowed')
    }
    expect((await query('SELECT count(*) AS n FROM links')).status).toBe(200)
  })

  it('refuses a write that returns rows on either endpoint', async () => {
    const sql = 'DELETE FROM links WHERE code = ? RETURNING code'
    expectError(await query(sql, ['x']), 400, 'wrong_endpoint')
    expectError(await execute(sql, ['x']), 400, 'wrong_endpoint')
  })

  it('answers an unknown path with a JSON 404', async () => {
    expectError(await postJson(db.url, '/nothing', {}, auth), 404, 'not_found')
  })

  it('counts queries and writes in /metrics', async () => {
    const before = (await send(db.url, '/metrics')).json.counters
    await query('SELECT 1')
    await execute('UPDATE links SET clicks = clicks + 1 WHERE code = ?', [
      'none',
    ])
    const after = (await send(db.url, '/metrics')).json.counters
    expect(after['db.queries']).toBe((before['db.queries'] ?? 0) + 1)
    expect(after['db.executes']).toBe((before['db.executes'] ?? 0) + 1)
  })

  it('compiles a statement once and runs it again from its cache, still checked per endpoint', async () => {
    const compiled = async () =>
      (await send(db.url, '/metrics')).json.counters['db.statements_compiled']
    const sql = 'SELECT code FROM links WHERE code = ? AND clicks >= 0'
    const before = await compiled()
    for (let i = 0; i < 3; i++) {
      expect((await query(sql, [`c${i}`])).status).toBe(200)
    }
    expect(await compiled()).toBe(before + 1)
    expectError(await execute(sql, ['c0']), 400, 'wrong_endpoint')
    expectError(
      await query(`${sql}; DELETE FROM links`, ['c0']),
      400,
      'invalid_sql',
    )
    expect(await compiled()).toBe(before + 1)
  })

  it('refuses to start with a short token, naming the option', async () => {
    await expect(
      startDbServer({ name: 'db', dataFile: ':memory:', token: 'short' }),
    ).rejects.toThrow(/DbServerOptions\.token/)
  })
})
