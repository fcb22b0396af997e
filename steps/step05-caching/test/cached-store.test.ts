// The exercise: the cached store. `npm test -- step05` runs these against
// exercises/; each failure names the hint to read.
import Redis from 'ioredis'
import { hinted } from '../../../shared/testing/hint'
import { counterSum } from '../../../shared/testing/metrics'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { GiveUp, waitFor } from '../../../shared/wait-for'
import { startRedis } from '../../../shared/redis'
import type { Link, LinkStore } from '../src/app/link-store'
import { createCachedStore } from '../src/cache/cached-store'
import { createRedisCache, type RedisCache } from '../src/cache/redis-cache'
import { HttpError } from '../src/common/http-error'
import { createMetrics } from '../src/common/metrics'
import { createSqliteStore } from '../src/database/sqlite-store'
import { startSystem, type System, type SystemOptions } from '../src/system'

const fast: Omit<SystemOptions, 'dataDir'> = {
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
}

// The cached store's database loads, summed over every app server.
const dbLoads = (system: System) => counterSum(system.nodes, 'cache.db_loads')
// The same, counted by step 4's router below the cache: one of these two
// counters for every read it makes, whatever the cached store counts.
const dbReads = async (system: System) =>
  (await counterSum(system.nodes, 'db.reads.replica')) +
  (await counterSum(system.nodes, 'db.reads.primary'))

async function create(system: System, body: Record<string, unknown> = {}) {
  const reply = await postJson(system.url, '/api/links', {
    url: `https://example.com/${Math.random()}`,
    ...body,
  })
  expect(reply.status).toBe(201)
  return reply.json as { code: string; url: string; expiresAt: number | null }
}

// Creating a link writes it to Redis at once; these tests start from a
// link that is in no cache at all, as after its TTL or an eviction.
async function coldLink(system: System, body: Record<string, unknown> = {}) {
  const link = await create(system, body)
  const redis = new Redis(
    system.nodes.find((node) => node.name === 'redis')!.url,
  )
  await redis.del(`link:${link.code}`)
  redis.disconnect()
  return link
}

const redirect = async (system: System, code: string) => {
  const reply = await send(system.url, `/${code}`, {
    headers: { cookie: 'none=1' },
  })
  return {
    status: reply.status,
    cache: reply.headers.get('x-cache'),
    node: reply.headers.get('x-served-by'),
  }
}

describe('cached store: two layers in front of the database', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({
      ...fast,
      dataDir: data.path,
      cache: { negativeTtlMs: 30_000, redisTimeoutMs: 1000 },
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it(
    'reads the database once for a repeated redirect: HIT-L1 on the same app server, HIT-L2 on the others',
    hinted('Hint 2: L1 and coalescing', async () => {
      const link = await coldLink(system)
      const before = await dbReads(system)
      const seen = []
      for (let i = 0; i < 9; i++) seen.push(await redirect(system, link.code))
      expect(seen.every((reply) => reply.status === 302)).toBe(true)
      expect(await dbReads(system)).toBe(before + 1)
      expect(seen[0]!.cache).toBe('MISS')
      const firstByNode = new Map<string, string>()
      for (const reply of seen.slice(1)) {
        if (!firstByNode.has(reply.node!))
          firstByNode.set(reply.node!, reply.cache!)
        else expect([reply.node, reply.cache]).toEqual([reply.node, 'HIT-L1'])
      }
      // Every other app server's first answer came from Redis.
      firstByNode.delete(seen[0]!.node!)
      expect([...firstByNode.values()]).toEqual(['HIT-L2', 'HIT-L2'])
    }),
  )

  it(
    'sends 50 concurrent requests for a cold link to the database at most once per app server',
    hinted('Hint 2: L1 and coalescing', async () => {
      const link = await coldLink(system)
      const before = await dbReads(system)
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => redirect(system, link.code)),
      )
      expect(replies.filter((reply) => reply.status !== 302)).toEqual([])
      expect((await dbReads(system)) - before).toBeLessThanOrEqual(3)
    }),
  )

  it(
    'reads the database at most once per unknown code in 300 requests',
    hinted('Hint 3: L2, TTLs and absence', async () => {
      const codes = Array.from(
        { length: 100 },
        (_, i) => `unknown-${Date.now()}-${i}`,
      )
      const before = await dbLoads(system)
      for (let round = 0; round < 3; round++) {
        const replies = await Promise.all(
          codes.map((code) => redirect(system, code)),
        )
        expect(replies.filter((reply) => reply.status !== 404)).toEqual([])
      }
      expect((await dbLoads(system)) - before).toBeLessThanOrEqual(codes.length)
    }),
  )

  it(
    'redirects on every app server as soon as a link is created under a code they remember as unknown',
    hinted('Hint 1: invalidation', async () => {
      const alias = `unknown-${Date.now()}`
      // Round-robin: every app server now remembers the code as absent.
      for (let i = 0; i < 3; i++)
        expect((await redirect(system, alias)).status).toBe(404)
      await create(system, { alias })
      const seen = []
      for (let i = 0; i < 3; i++) seen.push(await redirect(system, alias))
      expect(seen.map((reply) => [reply.node, reply.status])).toEqual(
        seen.map((reply) => [reply.node, 302]),
      )
      expect(new Set(seen.map((reply) => reply.node)).size).toBe(3)
    }),
  )

  it(
    'keeps a link in Redis and in L1 no longer than the link lives, and never redirects after it expired',
    hinted('Hint 3: L2, TTLs and absence', async () => {
      const link = await create(system, { expiresInSeconds: 2 })
      expect((await redirect(system, link.code)).status).toBe(302)
      const redis = new Redis(
        system.nodes.find((node) => node.name === 'redis')!.url,
      )
      try {
        const ttl = await redis.pttl(`link:${link.code}`)
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(2000)
      } finally {
        redis.disconnect()
      }
      // Meanwhile every app server copies the link into its L1.
      await waitFor(
        'the link to expire',
        async () => (await redirect(system, link.code)).status === 410,
      )
      await waitFor(
        'the clock to pass the expiry',
        () => Date.now() > link.expiresAt! + 50, // the app servers' clock too
      )
      const after = []
      for (let i = 0; i < 6; i++) after.push(await redirect(system, link.code))
      expect(after.map((reply) => reply.status)).toEqual(Array(6).fill(410))
      // No copy outlived the link: each answer was loaded afresh.
      expect(after.filter((reply) => reply.cache === 'HIT-L1')).toEqual([])
    }),
  )

  it(
    'writes a new link to Redis, so its first redirects do not reach the database',
    hinted('Hint 1: invalidation', async () => {
      const link = await create(system)
      const before = await dbReads(system)
      const seen = await Promise.all(
        Array.from({ length: 3 }, () => redirect(system, link.code)),
      )
      expect(seen.map((reply) => reply.cache)).toEqual([
        'HIT-L2',
        'HIT-L2',
        'HIT-L2',
      ])
      expect(await dbReads(system)).toBe(before)
    }),
  )

  it(
    'answers 410 on every app server right after a delete',
    hinted('Hint 1: invalidation', async () => {
      const created = await postJson(system.url, '/api/links', {
        url: 'https://example.com/to-delete',
      })
      expect(created.status).toBe(201)
      const { code, deleteToken } = created.json
      for (let i = 0; i < 6; i++)
        expect((await redirect(system, code)).status).toBe(302) // warm every L1
      const deleted = await send(system.url, `/api/links/${code}`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${deleteToken}` },
      })
      expect(deleted.status).toBe(204)
      const after = await Promise.all(
        Array.from({ length: 6 }, () => redirect(system, code)),
      )
      expect(after.map((reply) => reply.status)).toEqual([
        410, 410, 410, 410, 410, 410,
      ])
      expect(new Set(after.map((reply) => reply.node)).size).toBe(3)
    }),
  )

  it(
    'answers a delete only after every app server, even a slow one, has dropped its copy',
    hinted('Hint 1: invalidation', async () => {
      const url = system.nodes.find((node) => node.name === 'redis')!.url
      const listener = new Redis(url)
      const acks = new Redis(url)
      const acknowledged: string[] = []
      try {
        // A fourth app server, busier than the others: it drops its copy and
        // acknowledges 200 ms after each message.
        await listener.subscribe('links:invalidate')
        listener.on('message', (_channel: string, message: string) => {
          const { code, id } = JSON.parse(message) as {
            code: string
            id: string
          }
          setTimeout(() => {
            acknowledged.push(code)
            void acks.incr(`ack:${id}`)
          }, 200)
        })
        const created = await postJson(system.url, '/api/links', {
          url: 'https://example.com/slow-reader',
        })
        expect(created.status).toBe(201)
        const { code, deleteToken } = created.json
        const deleted = await send(system.url, `/api/links/${code}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${deleteToken}` },
        })
        expect(deleted.status).toBe(204)
        // Its create and its delete: both waited for the slow one.
        expect(acknowledged.filter((c) => c === code)).toEqual([code, code])
      } finally {
        listener.disconnect()
        acks.disconnect()
      }
    }),
  )
})

describe('cached store: a delete and a lagging replica', () => {
  it(
    'never lets a read of a lagging replica put a deleted link back into the cache',
    hinted('Hint 2: L1 and coalescing', async () => {
      const data = tempDir()
      const token = 'a-test-token-of-enough-length'
      const system = await startSystem({
        ...fast,
        dataDir: data.path,
        dbToken: token,
        maxLagMs: 60_000,
      })
      const replicas = system.nodes.filter(
        (node) => node.name === 'db-2' || node.name === 'db-3',
      )
      const admin = (action: string) =>
        Promise.all(
          replicas.map((db) =>
            send(db.url, `/replication/${action}`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${token}` },
            }),
          ),
        )
      const applied = async (name: string) =>
        (
          await send(
            system.nodes.find((node) => node.name === name)!.url,
            '/metrics',
          )
        ).json.replication.appliedSeq
      const caughtUp = async () => {
        const [primary, ...others] = await Promise.all(
          ['db-1', 'db-2', 'db-3'].map(applied),
        )
        return others.every((seq) => seq === primary)
      }
      try {
        const created = await postJson(system.url, '/api/links', {
          url: 'https://example.com/lagging',
        })
        expect(created.status).toBe(201)
        const { code, deleteToken } = created.json
        await waitFor('the replicas to have the link', caughtUp)
        await admin('pause')
        const deleted = await send(system.url, `/api/links/${code}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${deleteToken}` },
        })
        expect(deleted.status).toBe(204)
        // Without the client's session, lagging replicas still know the link:
        // these reads are stale, and must not be cached.
        for (let i = 0; i < 6; i++) await redirect(system, code)
        await admin('resume')
        await waitFor('the replicas to apply the delete', caughtUp)
        // Sooner than any cached copy would expire, every app server answers 410.
        await waitFor(
          'every app server to answer 410',
          async () => {
            const replies = await Promise.all(
              Array.from({ length: 6 }, () => redirect(system, code)),
            )
            return replies.every((reply) => reply.status === 410)
          },
          { timeoutMs: 2_500 }, // shorter than any copy's TTL (L1 5 s, L2 60 s)
        )
      } finally {
        await system.close()
        data.remove()
      }
    }),
  )
})

describe('cached store: time to live', () => {
  it(
    'reads the database again once the TTLs are over',
    hinted('Hint 3: L2, TTLs and absence', async () => {
      const data = tempDir()
      const system = await startSystem({
        ...fast,
        dataDir: data.path,
        cache: { l1TtlMs: 100, l2TtlMs: 200 },
      })
      try {
        const link = await coldLink(system)
        expect((await redirect(system, link.code)).cache).toBe('MISS')
        const before = await dbLoads(system)
        await waitFor(
          'a cache miss once the TTLs end',
          async () => (await redirect(system, link.code)).cache === 'MISS',
        )
        expect(await dbLoads(system)).toBe(before + 1)
      } finally {
        await system.close()
        data.remove()
      }
    }),
  )
})

describe('cached store: a copy Redis refused', () => {
  it(
    'never serves a copy that Redis refused as an L1 hit',
    hinted('Hint 2: L1 and coalescing', async () => {
      const redisServer = await startRedis({ redisUrl: undefined })
      const redis = new Redis(redisServer.url)
      const metrics = createMetrics()
      const inner = createSqliteStore(':memory:')
      const cached = createCachedStore({
        inner,
        l2: createRedisCache({
          redis,
          ttlMs: 60_000,
          negativeTtlMs: 5_000,
          leaseMs: 500,
          invalidatedMs: 30_000,
          metrics,
        }),
        l1MaxEntries: 100,
        l1TtlMs: 5_000,
        metrics,
      })
      try {
        await inner.insert({
          code: 'refused',
          url: 'https://example.com/',
          createdAt: 1,
          expiresAt: null,
          deleteTokenHash: 'x',
        })
        // An invalidation left its mark: Redis refuses any fill for a while.
        await redis.set('link:refused', 'invalidated', 'PX', 30_000)
        for (let i = 0; i < 5; i++) await cached.store.find('refused')
        expect(metrics.snapshot()['cache.hit-l1']).toBeUndefined()
        expect(metrics.snapshot()['cache.db_loads']).toBe(5)
      } finally {
        redis.disconnect()
        await redisServer.close()
      }
    }),
  )
})

// One cached store, without the rest of the app server: L2 as it is while
// Redis is down (every look-up misses, nothing is kept, no message goes
// out), and a database whose answers the test controls.
function oneAppServer(find: LinkStore['find']) {
  const metrics = createMetrics()
  const database = createSqliteStore(':memory:')
  const redisDown: RedisCache = {
    get: async () => undefined,
    ttlFor: (value, limitMs) => limitMs,
    put: async () => {},
    invalidate: async () => undefined,
    load: async (_code, load) => ({
      value: (await load()) ?? null,
      from: 'MISS' as const,
      kept: true,
    }),
  }
  const cached = createCachedStore({
    inner: { ...database, find },
    l2: redisDown,
    l1MaxEntries: 100,
    l1TtlMs: 60_000,
    metrics,
  })
  return { ...cached, database, metrics }
}

const aLink = (code: string): Omit<Link, 'clicks' | 'deletedAt'> => ({
  code,
  url: `https://example.com/${code}`,
  createdAt: Date.now(),
  expiresAt: null,
  deleteTokenHash: 'x',
})

describe('cached store: inside one app server', () => {
  it(
    'drops its own L1 copy of a deleted link, even while Redis is down',
    hinted('Hint 1: invalidation', async () => {
      const server = oneAppServer((code) => server.database.find(code))
      await server.database.insert(aLink('gone-soon'))
      expect(await server.store.find('gone-soon')).toMatchObject({
        deletedAt: null,
      })
      await server.store.markDeleted('gone-soon', Date.now())
      // No message reached this app server: only invalidate() itself can
      // have dropped its copy.
      expect(await server.store.find('gone-soon')).toMatchObject({
        deletedAt: expect.any(Number),
      })
    }),
  )

  it(
    'loads a code once more when an invalidation drops it during its load',
    hinted('Hint 2: L1 and coalescing', async () => {
      let release!: () => void
      const held = new Promise<void>((resolve) => (release = resolve))
      let loads = 0
      const server = oneAppServer(async (code) => {
        if (++loads === 1) await held // the first load is slow
        return server.database.find(code)
      })
      await server.database.insert(aLink('racing'))
      let answered = false
      const answer = server.store.find('racing')
      answer.then(
        () => (answered = true),
        () => (answered = true),
      )
      await waitFor('the first load to start', () => {
        if (answered) throw new GiveUp('find() answered without a load')
        return loads === 1
      })
      server.dropLocal('racing') // a message from another app server's write
      release()
      await expect(answer).resolves.toMatchObject({ code: 'racing' })
      expect(loads).toBe(2)
    }),
  )

  it(
    'loads a code only once when the database fails',
    hinted('Hint 2: L1 and coalescing', async () => {
      const outage = new HttpError(503, 'db_unavailable', 'No database')
      let loads = 0
      const server = oneAppServer(async () => {
        loads++
        throw outage
      })
      await expect(server.store.find('anything')).rejects.toBe(outage)
      expect(loads).toBe(1)
    }),
  )
})
