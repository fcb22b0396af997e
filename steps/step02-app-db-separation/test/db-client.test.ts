// The exercise: the app server's database client. `npm test -- step02` runs
// these against exercises/; each failure names the hint to read.
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { hinted } from '../../../shared/testing/hint'
import { startTcpProxy, type TcpProxy } from '../../../shared/testing/tcp-proxy'
import { tempDir } from '../../../shared/testing/temp'
import { postJson, send } from '../../../shared/testing/http'
import { expectError } from '../../../shared/testing/contract'
import { waitFor } from '../../../shared/wait-for'
import { LOOPBACK, type Handle } from '../../../shared/net'
import { HttpError } from '../src/common/http-error'
import {
  createDbClient,
  DbError,
  type DbClient,
} from '../src/database/db-client'
import { startDbServer } from '../src/database/db-server'
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
    // Anything else (a raw ECONNRESET, a DbTimeoutError that got out) is a
    // wrong answer too: compare it, so the failure names its hint.
    const { code, name } = error as { code?: string; name?: string }
    return { thrown: code ?? name }
  } finally {
    clearTimeout(timer)
  }
}

// A database that accepts connections and never answers (a frozen process),
// and tells how many connections it accepted and how many are still open.
async function startSilentServer() {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    socket.resume() // reads the request, so that it sees the client close
  })
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${LOOPBACK}:${port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy())
        server.close(() => resolve())
      }),
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
    'opens at most 32 connections for 40 queries at once',
    hinted('Hint 1: timeouts', async () => {
      const queries = Array.from({ length: 40 }, (_, i) =>
        client.query('SELECT ? AS n', [i]),
      )
      expect(await outcome(Promise.all(queries), 5_000)).toEqual({
        resolved: Array.from({ length: 40 }, (_, i) => [{ n: i }]),
      })
      expect(proxy.connections).toBeLessThanOrEqual(32)
    }),
  )

  it(
    'gives up on a hung database after its timeout',
    hinted('Hint 1: timeouts', async () => {
      proxy.mode = 'hang'
      const result = await outcome(client.query('SELECT 1'), 5_000)
      expect(result).not.toBe('still waiting')
      expect(result).not.toHaveProperty('resolved')
      // A timeout is not a refusal: the database may be working on it.
      expect(proxy.connections).toBe(1)
    }),
  )

  it(
    'closes its connection to a hung database when it gives up',
    hinted('Hint 1: timeouts', async () => {
      const silent = await startSilentServer()
      const hung = createDbClient({ url: silent.url, token, timeoutMs: 300 })
      try {
        const result = await outcome(hung.query('SELECT 1'), 5_000)
        expect(result).not.toBe('still waiting')
        expect(silent.accepted()).toBeGreaterThan(0)
        // Left open, the connection stays taken: after 32 of them, every
        // query waits in the agent's queue, with no timeout running.
        await waitFor(
          'the client to close its connection to the hung database',
          () => silent.open() === 0,
          { timeoutMs: 2_000 },
        )
      } finally {
        hung.close()
        await silent.close()
      }
    }),
  )

  it(
    'answers 503 database_unavailable when the database hangs',
    hinted('Hint 2: 503, not 500', async () => {
      proxy.mode = 'hang'
      expect(await outcome(client.query('SELECT 1'), 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
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
    'does not retry a read that timed out',
    hinted('Hint 3: one retry for reads', async () => {
      proxy.mode = 'hang'
      expect(await outcome(client.query('SELECT 1'), 5_000)).toEqual({
        status: 503,
        code: 'database_unavailable',
      })
      expect(proxy.connections).toBe(1)
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
