import { send } from '../../../shared/testing/http'
import { sendRaw } from '../../../shared/testing/raw'
import { waitFor } from '../../../shared/wait-for'
import {
  startEdgeServer,
  type EdgeServerOptions,
} from '../src/edge/edge-server'
import { startScriptedOrigin, type Scripted } from './scripted-origin'

const T0 = Date.parse('2026-12-02T10:00:00Z')
const purgeToken = 'a-purge-token-of-length'

describe("edge server: caching by the origin's rules", () => {
  let now = T0
  let origin: Awaited<ReturnType<typeof startScriptedOrigin>>
  let edge: Awaited<ReturnType<typeof startEdgeServer>> | undefined
  beforeEach(async () => {
    now = T0
    origin = await startScriptedOrigin(() => now)
  })
  afterEach(async () => {
    await edge?.close()
    edge = undefined
    await origin.close()
  })
  const start = async (options: Partial<EdgeServerOptions> = {}) => {
    edge = await startEdgeServer({
      name: 'edge-t',
      origin: origin.url,
      purgeToken,
      now: () => now,
      ...options,
    })
    return edge.url
  }
  const layer = async (
    url: string,
    path: string,
    headers: Record<string, string> = {},
  ) => {
    const reply = await send(url, path, { headers })
    return reply.headers.get('x-edge-cache')
  }

  it('revalidates the page with its ETag once stale: a 304 from the origin refreshes the copy without resending the body, and a changed page replaces it', async () => {
    let version = 'one'
    origin.route('/', () => ({
      headers: {
        'cache-control': 'public, max-age=10',
        etag: `"${version}"`,
        'content-type': 'text/html',
      },
      body: `<p>${version}</p>`,
    }))
    const url = await start()
    expect(await layer(url, '/')).toBe('MISS')
    now += 5_000
    expect(await layer(url, '/')).toBe('HIT')
    now += 6_000
    const revalidated = await send(url, '/')
    expect(revalidated.headers.get('x-edge-cache')).toBe('REVALIDATED')
    expect(revalidated.body).toBe('<p>one</p>')
    expect(origin.seen.at(-1)!.headers['if-none-match']).toBe('"one"')
    expect(await layer(url, '/')).toBe('HIT')
    version = 'two'
    now += 11_000
    const changed = await send(url, '/')
    expect([changed.headers.get('x-edge-cache'), changed.body]).toEqual([
      'MISS',
      '<p>two</p>',
    ])
  })

  it("answers a client's own If-None-Match with a 304 from the edge", async () => {
    origin.route('/static/a.css', () => ({
      headers: { 'cache-control': 'max-age=60', etag: '"a1"' },
      body: 'a {}',
    }))
    const url = await start()
    await send(url, '/static/a.css')
    // As curl sends it (fetch would add Cache-Control: no-cache to it).
    const again = await sendRaw(
      url,
      'GET /static/a.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/"a1"\r\nConnection: close\r\n\r\n',
    )
    expect([again.status, again.body, again.headers['x-edge-cache']]).toEqual([
      304,
      '',
      'HIT',
    ])
    expect(origin.requests('/static/a.css')).toBe(1)
  })

  it('answers at once with STALE within stale-while-revalidate, refreshes in the background, and the next answer is fresh', async () => {
    let version = 1
    origin.route('/static/s.js', () => ({
      headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' },
      body: `v${version}`,
    }))
    const url = await start()
    await send(url, '/static/s.js')
    version = 2
    now += 20_000
    const stale = await send(url, '/static/s.js')
    expect([stale.headers.get('x-edge-cache'), stale.body]).toEqual([
      'STALE',
      'v1',
    ])
    expect(stale.headers.get('cache-status')).toMatch(
      /hit; ttl=-10; detail=stale-while-revalidate/,
    )
    await waitFor(
      'the background refresh',
      () => origin.requests('/static/s.js') === 2,
    )
    const fresh = await waitFor('the refreshed copy', async () => {
      const reply = await send(url, '/static/s.js')
      return reply.body === 'v2' && reply
    })
    expect(fresh.headers.get('x-edge-cache')).toBe('HIT')
  })

  it('serves STALE within stale-if-error while the origin is down, and an error after the window', async () => {
    origin.route('/static/e.css', () => ({
      headers: { 'cache-control': 'max-age=10, stale-if-error=60' },
      body: 'e {}',
    }))
    const url = await start()
    await send(url, '/static/e.css')
    await origin.close()
    now += 30_000
    const stale = await send(url, '/static/e.css')
    expect([
      stale.status,
      stale.body,
      stale.headers.get('x-edge-cache'),
    ]).toEqual([200, 'e {}', 'STALE'])
    expect(stale.headers.get('cache-status')).toMatch(/detail=stale-if-error/)
    now += 60_000
    const gone = await send(url, '/static/e.css')
    expect([gone.status, gone.json?.error?.code]).toEqual([502, 'bad_gateway'])
  })

  it('serves STALE within stale-if-error when the origin answers 5xx, and passes its error on after the window', async () => {
    let failing = false
    origin.route('/static/f.css', () =>
      failing
        ? { status: 503, body: 'overloaded' }
        : {
            headers: { 'cache-control': 'max-age=10, stale-if-error=60' },
            body: 'f {}',
          },
    )
    const url = await start()
    await send(url, '/static/f.css')
    failing = true
    now += 30_000
    const stale = await send(url, '/static/f.css')
    expect([
      stale.status,
      stale.body,
      stale.headers.get('x-edge-cache'),
    ]).toEqual([200, 'f {}', 'STALE'])
    now += 60_000
    const after = await send(url, '/static/f.css')
    expect([after.status, after.body]).toEqual([503, 'overloaded'])
  })

  it.each([
    ['no-store', { 'cache-control': 'no-store' }, {}],
    ['private', { 'cache-control': 'private, max-age=60' }, {}],
    [
      'Set-Cookie',
      { 'cache-control': 'max-age=60', 'set-cookie': 'session=abc' },
      {},
    ],
    ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }, {}],
  ])('never serves a %s answer from the cache', async (_, headers, request) => {
    origin.route('/static/x', () => ({ headers, body: 'x' }))
    const url = await start()
    for (let i = 0; i < 3; i++)
      expect(await layer(url, '/static/x', request)).toBe('MISS')
    expect(origin.requests('/static/x')).toBe(3)
  })

  it('fetches and keeps whole objects: a Range request never poisons the copy with a part', async () => {
    origin.route('/static/r', (req): Scripted =>
      req.headers.range
        ? {
            status: 206,
            headers: {
              'cache-control': 'max-age=60',
              'content-range': 'bytes 0-3/12',
            },
            body: 'whol',
          }
        : { headers: { 'cache-control': 'max-age=60' }, body: 'whole object' },
    )
    const url = await start()
    const ranged = await send(url, '/static/r', {
      headers: { range: 'bytes=0-3' },
    })
    // A server may answer a Range with the whole object (RFC 9110, 14.2).
    expect([ranged.status, ranged.body]).toEqual([200, 'whole object'])
    const next = await send(url, '/static/r')
    expect([next.body, next.headers.get('x-edge-cache')]).toEqual([
      'whole object',
      'HIT',
    ])
    expect(origin.seen.map((r) => r.headers.range)).toEqual([undefined])
  })

  it('looks up a GET that carries a body without it: the origin answers, the copy is kept, and the next client is served', async () => {
    origin.route('/static/b', () => ({
      headers: { 'cache-control': 'max-age=60' },
      body: 'the page',
    }))
    const url = await start()
    const withBody = await sendRaw(
      url,
      'GET /static/b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
    )
    expect([withBody.status, withBody.body]).toEqual([200, 'the page'])
    const chunked = await sendRaw(
      url,
      'GET /static/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    )
    expect([chunked.status, chunked.body]).toEqual([200, 'the page'])
    const next = await send(url, '/static/b')
    expect([next.body, next.headers.get('x-edge-cache')]).toEqual([
      'the page',
      'HIT',
    ])
    const asked = origin.seen[0]!.headers
    expect([asked['content-length'], asked['transfer-encoding']]).toEqual([
      undefined,
      undefined,
    ])
    expect(origin.requests('/static/b')).toBe(1)
  })

  it('never serves an answer to a request with Authorization from the cache, nor stores it', async () => {
    origin.route('/static/x', () => ({
      headers: { 'cache-control': 'max-age=60' },
      body: 'for one user',
    }))
    const url = await start()
    const auth = { authorization: 'Bearer someone' }
    expect(await layer(url, '/static/x', auth)).toBe('PASS')
    expect(await layer(url, '/static/x', auth)).toBe('PASS')
    expect(await layer(url, '/static/x')).toBe('MISS')
    expect(origin.requests('/static/x')).toBe(3)
  })

  it('keeps two variants apart by Vary: Accept-Encoding', async () => {
    origin.route('/static/v', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' },
      body: `for ${req.headers['accept-encoding'] ?? 'none'}`,
    }))
    const url = await start()
    const gzip = { 'accept-encoding': 'gzip' }
    const br = { 'accept-encoding': 'br' }
    await send(url, '/static/v', { headers: gzip })
    const other = await send(url, '/static/v', { headers: br })
    expect([other.body, other.headers.get('cache-status')]).toEqual([
      'for br',
      expect.stringMatching(/fwd=vary-miss/),
    ])
    expect((await send(url, '/static/v', { headers: gzip })).body).toBe(
      'for gzip',
    )
    expect(
      (await send(url, '/static/v', { headers: br })).headers.get(
        'x-edge-cache',
      ),
    ).toBe('HIT')
    expect(origin.requests('/static/v')).toBe(2)
  })

  it('collapses concurrent misses only into the same variant: a waiter that asked for another one gets its own', async () => {
    origin.route('/static/c', (req) => ({
      headers: { 'cache-control': 'max-age=60', vary: 'Accept-Encoding' },
      body: `for ${req.headers['accept-encoding'] ?? 'none'}`,
      delayMs: 100,
    }))
    const url = await start()
    const ask = (encoding: string) =>
      send(url, '/static/c', { headers: { 'accept-encoding': encoding } })
    const answers = await Promise.all([ask('gzip'), ask('br'), ask('gzip')])
    expect(answers.map((a) => a.body)).toEqual([
      'for gzip',
      'for br',
      'for gzip',
    ])
    expect(origin.requests('/static/c')).toBe(2)
  })

  it('purges by URL and by tag, so that the next request is a MISS; without the token it refuses and purges nothing', async () => {
    for (const path of ['/static/1', '/static/2'])
      origin.route(path, () => ({
        headers: { 'cache-control': 'max-age=600', 'cache-tag': 'assets' },
        body: path,
      }))
    const url = await start()
    for (const path of ['/static/1', '/static/2']) await send(url, path)
    const purge = (body: object, token?: string) =>
      send(url, '/_edge/purge', {
        method: 'POST',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        body: JSON.stringify(body),
      })
    expect((await purge({ tag: 'assets' })).status).toBe(401)
    expect(
      (await purge({ tag: 'assets' }, 'wrong-token-of-its-length')).status,
    ).toBe(403)
    expect(await layer(url, '/static/1')).toBe('HIT')
    expect((await purge({ url: '/static/1' }, purgeToken)).json).toEqual({
      purged: 1,
    })
    expect(await layer(url, '/static/1')).toBe('MISS')
    expect(await layer(url, '/static/2')).toBe('HIT')
    expect((await purge({ tag: 'assets' }, purgeToken)).json).toEqual({
      purged: 2,
    })
    expect(await layer(url, '/static/2')).toBe('MISS')
  })

  it('makes one origin request for 500 concurrent requests of a cold object', async () => {
    origin.route('/static/cold', () => ({
      headers: { 'cache-control': 'max-age=600' },
      body: 'cold',
    }))
    const url = await start({ rateLimit: false })
    const replies = await Promise.all(
      Array.from({ length: 500 }, () => send(url, '/static/cold')),
    )
    expect(replies.filter((reply) => reply.body !== 'cold')).toEqual([])
    expect(origin.requests('/static/cold')).toBe(1)
  })

  it('keeps its memory within the byte limit under a stream of large distinct objects', async () => {
    const size = 100_000
    for (let i = 0; i < 50; i++)
      origin.route(`/static/big-${i}`, () => ({
        headers: { 'cache-control': 'max-age=600' },
        body: 'x'.repeat(size),
      }))
    origin.route('/static/huge', () => ({
      headers: { 'cache-control': 'max-age=600' },
      body: 'x'.repeat(3 * size),
    }))
    const url = await start({
      maxBytes: 10 * size,
      maxEntryBytes: 2 * size,
      rateLimit: false,
    })
    for (let i = 0; i < 50; i++) await send(url, `/static/big-${i}`)
    const huge = await send(url, '/static/huge')
    expect(huge.body.length).toBe(3 * size)
    const { cache } = (await send(url, '/_edge/metrics')).json
    expect(cache.bytes).toBeLessThanOrEqual(10 * size)
    expect(cache.entries).toBeGreaterThan(5)
    expect(await layer(url, '/static/big-49')).toBe('HIT')
    expect(await layer(url, '/static/big-0')).toBe('MISS')
    expect(await layer(url, '/static/huge')).not.toBe('HIT')
  })

  it('counts each URL against the byte limit: a flood of long URLs with tiny answers evicts too', async () => {
    const url = await start({ maxBytes: 20_000, rateLimit: false })
    const long = 'a'.repeat(2000)
    for (let i = 0; i < 40; i++) await send(url, `/static/${long}-${i}`)
    const { cache } = (await send(url, '/_edge/metrics')).json
    expect(cache.bytes).toBeLessThanOrEqual(20_000)
    expect(cache.entries).toBeLessThanOrEqual(10)
  })

  it('answers 429 to a client over its rate while another client is served normally', async () => {
    origin.route('/static/r', () => ({
      headers: { 'cache-control': 'max-age=600' },
      body: 'r',
    }))
    const url = await start({
      rateLimit: { capacity: 5, refillPerSecond: 0.001 },
      clientHeader: 'x-test-client',
    })
    const as = (client: string) =>
      send(url, '/static/r', { headers: { 'x-test-client': client } })
    const noisy = []
    for (let i = 0; i < 8; i++) noisy.push((await as('noisy')).status)
    expect(noisy).toEqual([200, 200, 200, 200, 200, 429, 429, 429])
    const limited = await as('noisy')
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await as('quiet')).status).toBe(200)
  })
})
