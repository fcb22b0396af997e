// The exercise: the app server's database client. `npm test -- step02` runs
// these against exercises/; each failure names the hint to read.
import { hinted } from '../../../shared/testing/hint'
import { startTcpProxy, type TcpProxy } from '../../../shared/testing/tcp-proxy'
import { tempDir } from '../../../shared/testing/temp'
import { postJson, send } from '../../../shared/testing/http'
import { expectError } from '../../../shared/testing/contract'
import { waitFor } from '../../../shared/wait-for'
import type { Handle } from '../../../shared/net'
import { HttpError } from '../src/http-error'
import { createDbClient, DbError, type DbClient } from '../src/db-client'
import { startDbServer } from '../src/db-server'
import { startSystem, type System } from '../src/system'

const token = 'a-test-token-of-enough-length'
const INSERT =
  'INSERT INTO links (code, url, created_at, delete_token_hash) VALUES (?, ?, ?, ?)'

// Settles with what the promise did, or 'still waiting' after a deadline, so
// a client without a timeout fails this test instead of hanging it.
async function outcome(promise: Promise<unknown>, deadlineMs: number) {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise(
    (resolve) =>
      (timer = setTimeout(() => resolve('still waiting'), deadlineMs)),
  )
  try {
    return await Promise.race([
      promise.then((value) => ({ resolved: value })),
      late,
    ])
  } catch (error: unknown) {
    if (error instanceof HttpError)
      return { status: error.status, code: error.code }
    if (error instanceof DbError)
      return { dbStatus: error.status, code: error.code }
    throw error
  } finally {
    clearTimeout(timer)
  }
}

describe('db client: talking to the database server', () => {
  const data = tempDir()
  let db: Handle
  let proxy: TcpProxy
  let client: DbClient
  beforeAll(async () => {
    db = await startDbServer({
      name: 'database',
      dataFile: `${data.path}/links.db`,
      token,
    })
  })
  beforeEach(async () => {
    proxy = await startTcpProxy(db.url)
    client = createDbClient({ url: proxy.url, token, timeoutMs: 300 })
  })
  afterEach(async () => {
    client.close()
    await proxy.close()
  })
  afterAll(async () => {
    await db.close()
    data.remove()
  })

  it(
    'sends twenty queries over one kept-alive connection',
    hinted('Hint 1: timeouts', async () => {
      for (let i = 0; i < 20; i++) {
        expect(await client.query('SELECT ? AS n', [i])).toEqual([{ n: i }])
      }
      expect(proxy.connections).toBe(1)
    }),
  )

  it(
    'gives up on a hung database after its timeout with 503 database_unavailable',
    hinted('Hint 1: timeouts', async () => {
      proxy.mode = 'hang'
      expect(await outcome(client.query('SELECT 1'), 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
      // A timeout is not a refusal: the database may be working on it.
      expect(proxy.connections).toBe(1)
    }),
  )

  it(
    'answers 503 database_unavailable when nothing listens at the database address',
    hinted('Hint 2: 503, not 500', async () => {
      await proxy.close()
      expect(await outcome(client.query('SELECT 1'), 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
      expect(
        await outcome(
          client.execute('DELETE FROM links WHERE code = ?', ['x']),
          5_000,
        ),
      ).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
    }),
  )

  it(
    "passes the database's own answers through as DbError, not as 503",
    hinted('Hint 2: 503, not 500', async () => {
      await client.execute(INSERT, ['dup0001', 'https://example.com/', 1, 'h'])
      expect(
        await outcome(
          client.execute(INSERT, ['dup0001', 'https://example.com/', 1, 'h']),
          5_000,
        ),
      ).toEqual({
        dbStatus: 409,
        code: 'constraint',
      })
    }),
  )

  it(
    'retries a read once when its connection is reset before any answer',
    hinted('Hint 3: one retry for reads', async () => {
      proxy.resetNext(1)
      expect(await outcome(client.query('SELECT 42 AS n'), 5_000)).toEqual({
        resolved: [{ n: 42 }],
      })
      expect(proxy.connections).toBe(2)
    }),
  )

  it(
    'does not retry a read twice',
    hinted('Hint 3: one retry for reads', async () => {
      proxy.resetNext(2)
      expect(await outcome(client.query('SELECT 1'), 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
      expect(proxy.connections).toBe(2)
    }),
  )

  it(
    'never retries a write',
    hinted('Hint 3: one retry for reads', async () => {
      proxy.resetNext(1)
      const write = client.execute(INSERT, [
        'noretry',
        'https://example.com/',
        1,
        'h',
      ])
      expect(await outcome(write, 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
      expect(proxy.connections).toBe(1)
    }),
  )
})

describe('db client: inside the running app', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ dataDir: data.path, dbTimeoutMs: 300 })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it(
    'makes the app answer 503 JSON while the database is down, and serve again once it is back',
    hinted('Hint 2: 503, not 500', async () => {
      const created = await postJson(system.url, '/api/links', {
        url: 'https://example.com/db',
      })
      expect(created.status).toBe(201)
      const link = created.json
      const database = system.nodes.find((node) => node.role === 'database')!
      await database.kill()
      expectError(
        await send(system.url, `/${link.code}`),
        503,
        'database_unavailable',
      )
      expectError(
        await send(system.url, '/api/links', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{"url":"https://example.com/"}',
        }),
        503,
        'database_unavailable',
      )
      await database.restart()
      const back = await waitFor('the app to serve again', async () => {
        const reply = await send(system.url, `/${link.code}`)
        return reply.status === 302 && reply
      })
      expect(back.headers.get('location')).toBe(link.url)
    }),
  )
})
