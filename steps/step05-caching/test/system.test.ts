import Redis from 'ioredis'
import { createLink, newClient, send } from '../../../shared/testing/http'
import { counterSum } from '../../../shared/testing/metrics'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { startTcpProxy } from '../../../shared/testing/tcp-proxy'
import { tempDir } from '../../../shared/testing/temp'
import { startTraffic } from '../../../shared/testing/traffic'
import { startRedis } from '../../../shared/redis'
import { waitFor } from '../../../shared/wait-for'
import { startSystem, type System, type SystemOptions } from '../src/system'

const fast: Omit<SystemOptions, 'dataDir'> = {
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
}
// The cache layers that answered another client (one that wrote nothing, so
// it sends no sequence number and may be served from the caches).
const layers = async (base: string, code: string, times: number) => {
  const seen: string[] = []
  for (let i = 0; i < times; i++) {
    const reply = await send(base, `/${code}`, { headers: { cookie: 'x=1' } })
    seen.push(reply.headers.get('x-cache') ?? 'none')
  }
  return seen
}
const counter = (system: System, name: string) => counterSum(system.nodes, name)

describe('the cache tier as real processes', () => {
  it('starts Redis with the other eight processes under npm start, and Ctrl-C stops them all', async () => {
    const started = await npmStart('step05', { REDIS_URL: '' })
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes.find((node) => node.name === 'redis')).toMatchObject({
        role: 'cache',
      })
      expect(nodes.find((node) => node.name === 'redis')!.pid).toBeGreaterThan(
        0,
      )
      const link = await createLink(frontDoor)
      expect(await layers(frontDoor, link.code, 2)).toEqual([
        'HIT-L2',
        'HIT-L2',
      ])
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  it('serves every request while Redis is killed, and uses the cache again once it restarts', async () => {
    const data = tempDir()
    // A private Redis even when REDIS_URL is set: this test kills it.
    const redis = await startRedis({ redisUrl: undefined })
    const system = await startSystem({
      ...fast,
      dataDir: data.path,
      redisUrl: redis.url,
    })
    try {
      const traffic = await startTraffic(system.url)
      await traffic.more(30)
      const errorsBefore = await counter(system, 'cache.l2.errors')
      await redis.kill()
      await traffic.more(60)
      expect(await counter(system, 'cache.l2.errors')).toBeGreaterThan(
        errorsBefore,
      )
      await redis.restart()
      await traffic.more(30)
      await traffic.stop()
      expect(traffic.failures).toEqual([])
      const link = await createLink(system.url)
      await waitFor('Redis to serve hits again', async () => {
        return (await layers(system.url, link.code, 3)).includes('HIT-L2')
      })
    } finally {
      await system.close()
      await redis.close()
      data.remove()
    }
  })

  it('answers within its command timeout when Redis is slow, reading the database instead', async () => {
    const data = tempDir()
    const redis = await startRedis({ redisUrl: undefined })
    const slowLink = await startTcpProxy(redis.url.replace('redis:', 'http:'))
    const system = await startSystem({
      ...fast,
      dataDir: data.path,
      redisUrl: slowLink.url.replace('http:', 'redis:'),
    })
    try {
      const link = await createLink(system.url)
      slowLink.delayMs = 2_000 // far past the 200 ms command timeout
      const traffic = await startTraffic(system.url, { posts: false })
      await traffic.more(12)
      await traffic.stop()
      expect(traffic.failures).toEqual([])
      expect((await send(system.url, `/${link.code}`)).status).toBe(302)
    } finally {
      await system.close()
      await slowLink.close()
      await redis.close()
      data.remove()
    }
  })

  it('never redirects the client that deleted a link, while Redis is down and other clients keep reading it', async () => {
    const data = tempDir()
    const redis = await startRedis({ redisUrl: undefined })
    const system = await startSystem({
      ...fast,
      dataDir: data.path,
      redisUrl: redis.url,
      cache: { l1TtlMs: 60_000 },
    })
    const deleter = newClient()
    const readers = [newClient(), newClient(), newClient()]
    let reading = true
    try {
      const link = await deleter.createLink(system.url)
      // Other clients warm every app server's L1 with the link.
      for (const reader of readers)
        for (let i = 0; i < 3; i++)
          expect((await reader.send(system.url, `/${link.code}`)).status).toBe(
            302,
          )
      await redis.kill() // invalidations cannot reach the other app servers now
      const loops = readers.map(async (reader) => {
        while (reading) await reader.send(system.url, `/${link.code}`)
      })
      const deleted = await deleter.send(
        system.url,
        `/api/links/${link.code}`,
        {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${link.deleteToken}` },
        },
      )
      expect(deleted.status).toBe(204)
      const after = []
      for (let i = 0; i < 12; i++)
        after.push((await deleter.send(system.url, `/${link.code}`)).status)
      expect(after).toEqual(Array(12).fill(410))
      reading = false
      await Promise.all(loops)
    } finally {
      reading = false
      await system.close()
      await redis.close()
      data.remove()
    }
  })

  it('treats a corrupt or foreign Redis entry as a miss, removes it, and never redirects to what it says', async () => {
    const data = tempDir()
    const system = await startSystem({ ...fast, dataDir: data.path })
    const redis = new Redis(system.nodes.find((n) => n.name === 'redis')!.url)
    try {
      const reader = newClient()
      for (const bad of ['not json', '{"code":"x"}', 'FOREIGN']) {
        const link = await createLink(system.url)
        const forged =
          bad === 'FOREIGN'
            ? JSON.stringify({
                ...link,
                url: 'javascript:alert(1)',
                clicks: 0,
                deletedAt: null,
                deleteTokenHash: 'x',
              })
            : bad
        await redis.set(`link:${link.code}`, forged)
        const reply = await reader.send(system.url, `/${link.code}`)
        expect([reply.status, reply.headers.get('location')]).toEqual([
          302,
          link.url,
        ])
        expect(await redis.get(`link:${link.code}`)).not.toBe(forged)
      }
      expect(await counter(system, 'cache.l2.corrupt')).toBe(3)
    } finally {
      redis.disconnect()
      await system.close()
      data.remove()
    }
  })
})
