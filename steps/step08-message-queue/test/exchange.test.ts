// The exchange layer's promises to a producer, against a private
// redis-server: a confirmed publish is stored (and survives Redis's SIGKILL,
// on disk as the step's is), and a message no queue takes is counted once.
import { join } from 'node:path'
import { Queue } from 'bullmq'
import Redis from 'ioredis'
import { startRedis, type RedisHandle } from '../../../shared/redis'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { createMetrics } from '../src/common/metrics'
import { declare, publications, type LinkEvent } from '../src/queue/events'
import { connectExchanges } from '../src/queue/exchange'
import { connectQueues } from '../src/queue/publisher'

const click = (id: string): LinkEvent => ({
  id,
  type: 'link.clicked',
  code: 'confirmed',
  at: Date.now(),
})

describe('publisher confirms, through the exchanges', () => {
  const data = tempDir()
  let server: RedisHandle
  let redis: Redis
  beforeAll(async () => {
    server = await startRedis({
      redisUrl: undefined,
      appendOnlyDir: join(data.path, 'redis'),
    })
    redis = new Redis(server.url, { maxRetriesPerRequest: null })
  })
  beforeEach(() => redis.flushall())
  afterAll(async () => {
    redis.disconnect()
    await server.close()
    data.remove()
  })

  it('confirms a publish only once every queue it routes to holds it: nothing confirmed is lost when Redis is SIGKILLed, and nothing is confirmed while it is down', async () => {
    // The app server's own connection: it fails fast while Redis is away.
    const metrics = createMetrics()
    const connection = connectQueues(server.url, metrics)
    const exchanges = connectExchanges({ redis: connection, metrics })
    await waitFor('the connection', () => connection.status === 'ready')
    await declare(exchanges)
    // One publish after another, each recorded with its answer.
    const confirmed: string[] = []
    const refused: string[] = []
    let down = false
    const confirmedWhileDown: string[] = []
    let running = true
    const stream = (async () => {
      for (let n = 0; running; n++) {
        const event = click(`e${n}`)
        try {
          await exchanges.publishAll(publications(event))
          confirmed.push(event.id)
          if (down) confirmedWhileDown.push(event.id)
        } catch {
          refused.push(event.id)
          await delay(10)
        }
      }
    })()
    try {
      await waitFor('confirms', () => confirmed.length >= 100)
      await server.kill()
      // A publish under way as it died may still be answered: then settled.
      await delay(100)
      down = true
      await waitFor('publishes refused', () => refused.length >= 10)
      down = false
      await server.restart()
      const before = confirmed.length
      await waitFor('confirms again', () => confirmed.length >= before + 100, {
        timeoutMs: 10_000,
      })
    } finally {
      running = false
      await stream
      await exchanges.close()
      connection.disconnect()
    }
    expect(confirmedWhileDown).toEqual([])
    // Every confirmed click is in both of its queues, kept on disk.
    for (const name of ['clicks', 'audit']) {
      const queue = new Queue(name, { connection: redis })
      const held = new Set(
        (await queue.getWaiting()).map((job) => (job.data as LinkEvent).id),
      )
      await queue.close()
      expect(confirmed.filter((id) => !held.has(id))).toEqual([])
    }
  })

  it('counts a message no queue takes as unroutable once, though its publish fails half way and is tried again', async () => {
    const metrics = createMetrics()
    const exchanges = connectExchanges({ redis, metrics })
    try {
      await declare(exchanges)
      const created: LinkEvent = { ...click('n1'), type: 'link.created' }
      // The clicks queue broken for a moment: its metadata is not a hash.
      await redis.set('bull:clicks:meta', 'broken')
      const batch = [...publications(click('c1')), ...publications(created)]
      await expect(exchanges.publishAll(batch)).rejects.toThrow()
      await redis.del('bull:clicks:meta')
      await exchanges.publishAll(batch)
      // link.created found no binding on link-events: one message, once.
      expect(metrics.snapshot()['mq.unroutable']).toBe(1)
    } finally {
      await exchanges.close()
    }
  })
})
