import { once } from 'node:events'
import {
  createServer as createHttpServer,
  get,
  type IncomingHttpHeaders,
} from 'node:http'
import { connect } from 'node:net'
import { expectError } from '../../../shared/testing/contract'
import { postJson, send, type Reply } from '../../../shared/testing/http'
import { sendRaw } from '../../../shared/testing/raw'
import { startTcpProxy, type TcpProxy } from '../../../shared/testing/tcp-proxy'
import { startUpstream, type Upstream } from '../../../shared/testing/upstream'
import { freePort, listen } from '../../../shared/net'
import { waitFor } from '../../../shared/wait-for'
import {
  startLoadBalancer,
  type LoadBalancerOptions,
} from '../src/balancer/load-balancer'

function rawGet(base: string, path: string, headers: Record<string, string>) {
  type Echo = { headers: IncomingHttpHeaders; json: Reply['json'] }
  return new Promise<Echo>((resolve, reject) => {
    get(new URL(path, base), { headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk))
      res.on('end', () =>
        resolve({ headers: res.headers, json: JSON.parse(body) }),
      )
    }).on('error', reject)
  })
}

type Balancer = Awaited<ReturnType<typeof startLoadBalancer>>

describe('load balancer: proxying, retries and failures', () => {
  let upstreams: Upstream[]
  let balancer: Balancer | undefined
  let proxies: TcpProxy[] = []
  beforeEach(async () => {
    upstreams = await Promise.all(
      ['app-1', 'app-2', 'app-3'].map((name) => startUpstream(name)),
    )
  })
  afterEach(async () => {
    await balancer?.close()
    balancer = undefined
    await Promise.all([...upstreams, ...proxies].map((s) => s.close()))
    proxies = []
  })
  const start = async (
    servers: string[],
    options: Partial<LoadBalancerOptions> = {},
  ) => {
    balancer = await startLoadBalancer({
      name: 'lb',
      servers,
      log: () => {},
      healthCheck: { intervalMs: 60_000 },
      ...options,
    })
    return balancer
  }
  const proxy = async (target: string) => {
    const created = await startTcpProxy(target)
    proxies.push(created)
    return created
  }
  const gets = (upstream: Upstream, path = '/x') =>
    upstream.received.filter((r) => r.url === path).length

  it('appends to X-Forwarded-For, sets X-Forwarded-Proto, keeps Host and drops hop-by-hop headers', async () => {
    const lb = await start([upstreams[0]!.url])
    // Node's http client, not fetch: fetch refuses to send hop-by-hop headers.
    const reply = await rawGet(lb.url, '/x', {
      'X-Forwarded-For': '203.0.113.7',
      Host: 'sho.rt',
      'Proxy-Authorization': 'Basic c2VjcmV0',
      Connection: 'keep-alive, X-Hop-Secret',
      'X-Hop-Secret': 'for this hop only',
      'X-Custom': 'kept',
    })
    const seen = reply.json.headers
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1')
    expect(seen['x-forwarded-proto']).toBe('http')
    expect(seen.host).toBe('sho.rt')
    expect(seen['x-custom']).toBe('kept')
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(seen['x-hop-secret']).toBeUndefined()
    expect(reply.headers['x-served-by']).toBe('app-1')
  })

  it('joins repeated X-Forwarded-For lines and replaces X-Forwarded-Proto', async () => {
    const lb = await start([upstreams[0]!.url])
    const reply = await sendRaw(
      lb.url,
      'GET /x HTTP/1.1\r\nHost: sho.rt\r\nX-Forwarded-For: 203.0.113.7\r\n' +
        'X-Forwarded-For: 198.51.100.2\r\nX-Forwarded-Proto: https\r\n' +
        'Connection: close\r\n\r\n',
    )
    const seen = reply.json.headers
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 198.51.100.2, 127.0.0.1')
    expect(seen['x-forwarded-proto']).toBe('http')
  })

  it('answers GET /_lb/metrics itself with its process figures, and passes every other path on', async () => {
    const lb = await start([upstreams[0]!.url])
    await send(lb.url, '/x')
    const reply = await send(lb.url, '/_lb/metrics')
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({
      node: 'lb',
      process: { pid: process.pid, requests: 1 },
    })
    expect(reply.json.process.latency.counts).toHaveLength(13)
    expect(gets(upstreams[0]!, '/_lb/metrics')).toBe(0)
    expect((await send(lb.url, '/_lb/other')).headers.get('x-served-by')).toBe(
      'app-1',
    )
  })

  it('shows its view of each server at /_lb/metrics: up, then down once it failed `fall` checks in a row', async () => {
    const lb = await start([upstreams[0]!.url, upstreams[1]!.url], {
      fall: 2,
      healthCheck: { intervalMs: 50, timeoutMs: 50 },
    })
    const view = async () => (await send(lb.url, '/_lb/metrics')).json
    expect(
      (await view()).servers.map((s: { state: string }) => s.state),
    ).toEqual(['up', 'up'])
    upstreams[1]!.hang = true // its checks time out from now on
    const down = await waitFor('app-2 to be ejected', async () => {
      const servers = (await view()).servers
      return servers[1].state === 'down' ? servers : undefined
    })
    expect(down[0]).toMatchObject({ url: upstreams[0]!.url, state: 'up' })
    expect(down[1]).toMatchObject({ url: upstreams[1]!.url, state: 'down' })
    expect(down[1].failedChecks).toBeGreaterThanOrEqual(2)
    expect((await view()).health).toEqual({
      rise: 2,
      fall: 2,
      intervalMs: 50,
    })
  })

  it('keeps Host when the Connection header names it', async () => {
    const lb = await start([upstreams[0]!.url])
    const reply = await rawGet(lb.url, '/x', {
      Host: 'sho.rt',
      Connection: 'keep-alive, Host, X-Hop-Secret',
      'X-Hop-Secret': 'for this hop only',
    })
    expect(reply.json.headers.host).toBe('sho.rt')
    expect(reply.json.headers['x-hop-secret']).toBeUndefined()
  })

  it("passes the app server's answer headers on as sent, repeated ones too, without its hop-by-hop headers", async () => {
    const app = await listen(
      createHttpServer((req, res) => {
        res.writeHead(200, [
          ['Content-Type', 'application/json'],
          ['Set-Cookie', 'a=1'],
          ['Set-Cookie', 'b=2'],
          ['Connection', 'keep-alive, X-Hop-Secret'],
          ['Keep-Alive', 'timeout=5'],
          ['X-Hop-Secret', 'for this hop only'],
          ['X-Custom', 'kept'],
        ])
        res.end('{}')
      }),
    )
    try {
      const lb = await start([app.url])
      const { headers } = await rawGet(lb.url, '/x', {})
      expect(headers['set-cookie']).toEqual(['a=1', 'b=2'])
      expect(headers['x-custom']).toBe('kept')
      expect(headers['x-hop-secret']).toBeUndefined()
      expect(headers['keep-alive']).toBeUndefined()
    } finally {
      await balancer?.close()
      balancer = undefined
      await app.close()
    }
  })

  it('passes a POST body through unchanged', async () => {
    const lb = await start([upstreams[0]!.url])
    const reply = await postJson(lb.url, '/api/links', {
      url: 'https://example.com/body',
    })
    expect(JSON.parse(reply.json.body)).toEqual({
      url: 'https://example.com/body',
    })
  })

  it('retries a GET on the next app server when one refuses the connection', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const lb = await start([closed, upstreams[1]!.url])
    const reply = await send(lb.url, '/x')
    expect(reply.status).toBe(201)
    expect(reply.headers.get('x-served-by')).toBe('app-2')
  })

  it('retries a GET on the next app server when one resets the connection', async () => {
    const broken = await proxy(upstreams[0]!.url)
    broken.mode = 'reset'
    const lb = await start([broken.url, upstreams[1]!.url])
    expect((await send(lb.url, '/x')).headers.get('x-served-by')).toBe('app-2')
  })

  it('retries a GET on the next app server when one does not answer in time', async () => {
    upstreams[0]!.hang = true
    const lb = await start([upstreams[0]!.url, upstreams[1]!.url], {
      timeoutMs: 200,
    })
    const reply = await send(lb.url, '/x')
    expect(reply.headers.get('x-served-by')).toBe('app-2')
    expect(gets(upstreams[0]!)).toBe(1)
  })

  it('answers 504 JSON within the timeout when the only app server hangs', async () => {
    upstreams[0]!.hang = true
    const lb = await start([upstreams[0]!.url], { timeoutMs: 200 })
    expectError(await send(lb.url, '/x'), 504, 'gateway_timeout')
  })

  it('retries a POST on the next app server when the connection is refused', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const lb = await start([closed, upstreams[1]!.url])
    const reply = await postJson(lb.url, '/api/links', {
      url: 'https://example.com/',
    })
    expect(reply.status).toBe(201)
    expect(
      upstreams[1]!.received.filter((r) => r.method === 'POST'),
    ).toHaveLength(1)
  })

  it('answers 504 to a POST that timed out, and never sends it to a second server', async () => {
    upstreams[0]!.hang = true
    const lb = await start(
      upstreams.map((u) => u.url),
      { timeoutMs: 200 },
    )
    const reply = await postJson(lb.url, '/api/links', {
      url: 'https://example.com/',
    })
    expectError(reply, 504, 'gateway_timeout')
    const posts = upstreams.flatMap((u) =>
      u.received.filter((r) => r.method === 'POST'),
    )
    expect(posts).toHaveLength(1)
  })

  it('answers 502 to a POST whose connection broke after it was sent, and never sends it to a second server', async () => {
    upstreams[0]!.hang = true
    const link = await proxy(upstreams[0]!.url)
    const lb = await start([link.url, upstreams[1]!.url])
    const reply = postJson(lb.url, '/api/links', {
      url: 'https://example.com/',
    })
    await waitFor(
      'the POST to reach app-1',
      () => upstreams[0]!.received.length === 1,
    )
    link.cut()
    expectError(await reply, 502, 'bad_gateway')
    expect(
      upstreams[1]!.received.filter((r) => r.method === 'POST'),
    ).toHaveLength(0)
  })

  it('answers 502 JSON when every app server is down', async () => {
    const lb = await start([
      `http://127.0.0.1:${await freePort()}`,
      `http://127.0.0.1:${await freePort()}`,
    ])
    expectError(await send(lb.url, '/x'), 502, 'bad_gateway')
    expectError(await send(lb.url, '/x'), 502, 'no_server_available')
  })

  it('answers 429 with Retry-After past the rate limit, per client', async () => {
    let now = 0
    const lb = await start([upstreams[0]!.url], {
      rateLimit: { capacity: 3, refillPerSecond: 1, now: () => now },
    })
    for (let i = 0; i < 3; i++)
      expect((await send(lb.url, '/x')).status).toBe(201)
    const limited = await send(lb.url, '/x')
    expectError(limited, 429, 'rate_limited')
    expect(limited.headers.get('retry-after')).toBe('1')
    now += 1000
    expect((await send(lb.url, '/x')).status).toBe(201)
  })

  it('neither ejects an app server nor retries elsewhere when the client gives up', async () => {
    upstreams[0]!.delayMs = 300
    const lb = await start([upstreams[0]!.url, upstreams[1]!.url])
    await expect(
      fetch(`${lb.url}/slow`, { signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow()
    await waitFor('the abandoned request to finish', () =>
      lb.pool.servers().every((s) => s.inFlight === 0),
    )
    expect(lb.pool.servers().map((s) => s.up)).toEqual([true, true])
    expect(
      upstreams[1]!.received.filter((r) => r.url === '/slow'),
    ).toHaveLength(0)
  })

  it('cuts the client off when an app server dies in the middle of a response', async () => {
    const dying = createHttpServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write('partial')
      setImmediate(() => res.socket?.destroy())
    })
    const handle = await listen(dying)
    try {
      const lb = await start([handle.url])
      const ended = await new Promise<string>((resolve) => {
        get(`${lb.url}/x`, (res) => {
          res.resume()
          res.on('end', () => resolve('complete'))
          res.on('error', () => resolve('cut off'))
          res.on('aborted', () => resolve('cut off'))
        }).on('error', () => resolve('cut off'))
      })
      expect(ended).toBe('cut off')
    } finally {
      await handle.close()
    }
  })

  it('keeps serving when a client sends garbage instead of HTTP', async () => {
    const lb = await start([upstreams[0]!.url])
    const socket = connect(Number(new URL(lb.url).port), '127.0.0.1')
    socket.on('error', () => {})
    socket.resume()
    socket.end('NOT HTTP AT ALL\r\n\r\n')
    await once(socket, 'close')
    expect((await send(lb.url, '/x')).status).toBe(201)
  })
})

describe('load balancer: forwards only to its own servers, and no request can eject one', () => {
  let upstreams: Upstream[] = []
  let balancer: Balancer | undefined
  afterEach(async () => {
    await balancer?.close()
    balancer = undefined
    await Promise.all(upstreams.map((s) => s.close()))
  })
  const raw = (head: string) =>
    sendRaw(balancer!.url, `${head}\r\nHost: x\r\nConnection: close\r\n\r\n`)

  it('sends a target that names another server to its own server, as a path', async () => {
    const [app, victim] = await Promise.all([
      startUpstream('app-1'),
      startUpstream('victim'),
    ])
    upstreams = [app!, victim!]
    const victimAt = new URL(victim!.url).host
    balancer = await startLoadBalancer({
      name: 'lb',
      servers: [app!.url],
      log: () => {},
      healthCheck: { intervalMs: 60_000 },
    })
    const authority = await raw(`GET //${victimAt}/secret HTTP/1.1`)
    const absolute = await raw(`GET http://${victimAt}/secret?x=1 HTTP/1.1`)
    expect([
      authority.headers['x-served-by'],
      absolute.headers['x-served-by'],
    ]).toEqual(['app-1', 'app-1'])
    expect(app!.received.map((r) => r.url)).toEqual([
      `//${victimAt}/secret`,
      '/secret?x=1',
    ])
    expect(victim!.received).toEqual([])
  })

  it('answers 400 to a target that is no path, and keeps every server up', async () => {
    upstreams = [await startUpstream('app-1')]
    balancer = await startLoadBalancer({
      name: 'lb',
      servers: [upstreams[0]!.url],
      log: () => {},
      healthCheck: { intervalMs: 60_000 },
    })
    for (const target of ['*', 'ftp://x/y', 'http://[::1/', 'x/y']) {
      const reply = await raw(`GET ${target} HTTP/1.1`)
      // Node refuses some of them itself (bad_request), the balancer the rest.
      expect(reply.status).toBe(400)
      expect(reply.json.error.code).toMatch(/^bad_(target|request)$/)
    }
    expect(upstreams[0]!.received).toEqual([])
    expect(balancer.pool.servers().map((s) => [s.up, s.inFlight])).toEqual([
      [true, 0],
    ])
  })

  it('does not eject a server whose connection a request broke, and keeps its in-flight count exact', async () => {
    const breaking = createHttpServer((req, res) => {
      if (req.url === '/break') return void req.socket.destroy()
      res.writeHead(200, { 'X-Served-By': 'app-1' }).end('ok')
    })
    const handle = await listen(breaking)
    try {
      balancer = await startLoadBalancer({
        name: 'lb',
        servers: [handle.url],
        log: () => {},
        healthCheck: { intervalMs: 60_000 },
      })
      expect((await send(balancer.url, '/break')).status).toBe(502)
      expect(balancer.pool.servers().map((s) => [s.up, s.inFlight])).toEqual([
        [true, 0],
      ])
      expect((await send(balancer.url, '/fine')).status).toBe(200)
    } finally {
      await handle.close()
    }
  })

  it('leaves every in-flight count at 0 and every server up after 300 random good and bad requests', async () => {
    upstreams = await Promise.all(
      ['app-1', 'app-2', 'app-3'].map((n) => startUpstream(n)),
    )
    balancer = await startLoadBalancer({
      name: 'lb',
      servers: upstreams.map((u) => u.url),
      policy: 'least-connections',
      log: () => {},
      healthCheck: { intervalMs: 60_000 },
    })
    // A fixed seed: the same 300 requests on every run.
    let seed = 42
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const targets = [
      '/x',
      '//127.0.0.1:1/x',
      'http://127.0.0.1:1/x',
      '*',
      '/%zz',
      '/a?b=c',
      'http://[bad/',
      '/\u00e9',
    ]
    const methods = ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'BREW']
    const statuses = await Promise.all(
      Array.from({ length: 300 }, async () => {
        const head = `${methods[random(methods.length)]} ${targets[random(targets.length)]} HTTP/1.1`
        const reply = await raw(head).catch(() => undefined)
        return reply?.status ?? 0
      }),
    )
    expect(statuses.filter((status) => status >= 500)).toEqual([])
    await waitFor('every request to finish', () =>
      balancer!.pool.servers().every((s) => s.inFlight === 0),
    )
    expect(balancer.pool.servers().map((s) => s.up)).toEqual([true, true, true])
  })
})
