import Database from 'better-sqlite3'
import { join } from 'node:path'
import request from 'supertest'
import { createApp } from '../src/app/app'
import { CodeTakenError, type LinkStore } from '../src/app/link-store'
import { createSqliteStore } from '../src/database/sqlite-store'
import { tempDir } from '../../../shared/testing/temp'

const PUBLIC = 'http://short.test'

describe('app: the shortener over HTTP', () => {
  const data = tempDir()
  afterAll(() => data.remove())

  it('stores only a hash of the delete token', async () => {
    const file = join(data.path, 'hash.db')
    const store = createSqliteStore(file)
    const created = await request(
      createApp({ store, node: 'app-t', publicUrl: PUBLIC }),
    )
      .post('/api/links')
      .send({ url: 'https://example.com/secret' })
    await store.close()
    const db = new Database(file, { readonly: true })
    const row = db.prepare('SELECT * FROM links').get() as Record<
      string,
      unknown
    >
    db.close()
    expect(JSON.stringify(row)).not.toContain(created.body.deleteToken)
    expect(row.delete_token_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  it('answers 410 expired as soon as the clock passes expiresAt', async () => {
    let now = 1_000_000
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl: PUBLIC,
      now: () => now,
    })
    const created = await request(app)
      .post('/api/links')
      .send({ url: 'https://example.com/', expiresInSeconds: 60 })
    expect(created.body.expiresAt).toBe(1_060_000)
    now = 1_059_999
    expect((await request(app).get(`/${created.body.code}`)).status).toBe(302)
    now = 1_060_000
    const gone = await request(app).get(`/${created.body.code}`)
    expect([gone.status, gone.body.error.code]).toEqual([410, 'expired'])
  })

  it('tries a new code when the generated one is taken, and gives up with 503 after five', async () => {
    const real = createSqliteStore(':memory:')
    let collisions = 2
    const tried: string[] = []
    const store: LinkStore = {
      ...real,
      async insert(link) {
        tried.push(link.code)
        if (collisions-- > 0) throw new CodeTakenError(link.code)
        return real.insert(link)
      },
    }
    const app = createApp({ store, node: 'app-t', publicUrl: PUBLIC })
    const created = await request(app)
      .post('/api/links')
      .send({ url: 'https://example.com/' })
    expect(created.status).toBe(201)
    expect(tried).toHaveLength(3)
    expect(created.body.code).toBe(tried[2])

    collisions = 100
    tried.length = 0
    const busy = await request(app)
      .post('/api/links')
      .send({ url: 'https://example.com/' })
    expect([busy.status, busy.body.error.code]).toEqual([
      503,
      'code_space_busy',
    ])
    expect(tried).toHaveLength(5)
  })

  it('answers a failing store with a JSON 500 that does not leak its cause', async () => {
    const store: LinkStore = {
      ...createSqliteStore(':memory:'),
      find: async () => {
        throw new Error('disk I/O error at /var/secret/links.db')
      },
    }
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {})
    const reply = await request(
      createApp({ store, node: 'app-t', publicUrl: PUBLIC }),
    ).get('/abcdefg')
    spy.mockRestore()
    expect(reply.status).toBe(500)
    expect(reply.body.error.code).toBe('internal')
    expect(reply.text).not.toContain('secret')
  })

  it('counts requests, created links and redirects in /metrics', async () => {
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl: PUBLIC,
    })
    const created = await request(app)
      .post('/api/links')
      .send({ url: 'https://example.com/' })
    await request(app).get(`/${created.body.code}`)
    await request(app).get('/nothing')
    const metrics = await request(app).get('/metrics')
    expect(metrics.body).toMatchObject({
      node: 'app-t',
      counters: {
        'links.created': 1,
        'links.redirects': 1,
        'http.responses.201': 1,
        'http.responses.302': 1,
        'http.responses.404': 1,
      },
    })
  })

  it('uses the configured public URL for short links and refuses links back to it', async () => {
    const publicUrl = 'https://sho.rt'
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl,
    })
    const created = await request(app)
      .post('/api/links')
      .send({ url: 'https://example.com/' })
    expect(created.body.shortUrl).toBe(`${publicUrl}/${created.body.code}`)
    const loop = await request(app)
      .post('/api/links')
      .send({ url: `${publicUrl}/abc` })
    expect([loop.status, loop.body.error.code]).toEqual([400, 'invalid_url'])
  })

  it('answers 405 with Allow for a known path and another method, and OPTIONS with Allow', async () => {
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl: PUBLIC,
    })
    const put = await request(app).put('/api/links')
    expect([put.status, put.body.error.code]).toEqual([
      405,
      'method_not_allowed',
    ])
    expect(put.headers.allow).toBe('POST, OPTIONS')
    const post = await request(app).post('/abcdefg')
    expect([post.status, post.headers.allow]).toEqual([
      405,
      'GET, HEAD, OPTIONS',
    ])
    const options = await request(app).options('/api/links/abcdefg')
    expect([options.status, options.headers.allow]).toEqual([
      204,
      'GET, HEAD, DELETE, OPTIONS',
    ])
  })

  it('does not count a HEAD of a short link as a click', async () => {
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl: PUBLIC,
    })
    const { code } = (
      await request(app)
        .post('/api/links')
        .send({ url: 'https://example.com/' })
    ).body
    expect((await request(app).head(`/${code}`)).status).toBe(302)
    expect((await request(app).get(`/api/links/${code}`)).body.clicks).toBe(0)
  })

  it('never redirects to a stored URL that is not http(s): 410 blocked, whatever the store held', async () => {
    const store = createSqliteStore(':memory:')
    const app = createApp({ store, node: 'app-t', publicUrl: PUBLIC })
    // As a tampered database row would hold it: validateUrl never saw it.
    for (const [code, url] of [
      ['evil001', 'javascript:alert(1)'],
      ['evil002', 'file:///etc/passwd'],
      ['evil003', 'data:text/html,<script>1</script>'],
    ]) {
      await store.insert({
        code: code!,
        url: url!,
        createdAt: 1,
        expiresAt: null,
        deleteTokenHash: 'x'.repeat(64),
      })
      const reply = await request(app).get(`/${code}`)
      expect([reply.status, reply.body.error?.code]).toEqual([410, 'blocked'])
      expect(reply.headers.location).toBeUndefined()
    }
  })

  it('redirects even when the click cannot be written, and counts the click as lost', async () => {
    const store = createSqliteStore(':memory:')
    const failing: LinkStore = {
      ...store,
      recordClick: () => Promise.reject(new Error('disk full')),
    }
    const hanging: LinkStore = {
      ...store,
      recordClick: () => new Promise(() => {}),
    }
    for (const broken of [failing, hanging]) {
      const app = createApp({
        store: broken,
        node: 'app-t',
        publicUrl: PUBLIC,
        clickTimeoutMs: 50,
      })
      const { code } = (
        await request(app)
          .post('/api/links')
          .send({ url: 'https://example.com/' })
      ).body
      expect((await request(app).get(`/${code}`)).status).toBe(302)
      const metrics = await request(app).get('/metrics')
      expect(metrics.body.counters['clicks.lost']).toBe(1)
    }
  })

  it('makes short URLs from the public URL, whatever Host the client sends', async () => {
    const app = createApp({
      store: createSqliteStore(':memory:'),
      node: 'app-t',
      publicUrl: PUBLIC,
    })
    for (const host of ['evil.example', 'a b', '[::1', 'x'.repeat(300)]) {
      const created = await request(app)
        .post('/api/links')
        .set('Host', host)
        .send({ url: 'https://example.com/' })
      expect(created.status).toBe(201)
      expect(created.body.shortUrl).toBe(`${PUBLIC}/${created.body.code}`)
    }
  })
})
