// The app server's side of the queue against a private redis-server, with
// no worker: the declarations it makes at start, the bounded buffer across a
// Redis killed and restarted, and how far behind it says the counts are.
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import Redis from 'ioredis'
import { startRedis, type RedisHandle } from '../../../shared/redis'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { createMetrics } from '../src/common/metrics'
import type { LinkEvent } from '../src/queue/events'
import { startPublisher } from '../src/queue/publisher'
import { declarationsIn } from './declarations'

const request = { headers: {} } as IncomingMessage

describe('the publisher, between the app server and the queues', () => {
  const data = tempDir()
  let server: RedisHandle
  let redis: Redis
  const queues: Queue[] = []
  const queue = (name: string) => {
    const made = new Queue(name, { connection: redis })
    queues.push(made)
    return made
  }
  beforeAll(async () => {
    // On disk, as the step's: what Redis confirmed survives its SIGKILL.
    server = await startRedis({
      redisUrl: undefined,
      appendOnlyDir: join(data.path, 'redis'),
    })
    redis = new Redis(server.url, { maxRetriesPerRequest: null })
  })
  beforeEach(() => redis.flushall())
  afterEach(() => Promise.all(queues.splice(0).map((q) => q.close())))
  afterAll(async () => {
    redis.disconnect()
    await server.close()
    data.remove()
  })

  it('declares the exchanges and their bindings as soon as it connects, before its first event', async () => {
    const publisher = startPublisher({
      redisUrl: server.url,
      metrics: createMetrics(),
    })
    try {
      await declarationsIn(redis)
    } finally {
      await publisher.close()
    }
  })

  it('never fails an event while Redis is killed and restarted: every buffered event reaches its queue once, and what overflowed is counted', async () => {
    const roomy = { metrics: createMetrics() }
    const small = { metrics: createMetrics() }
    const publishers = [
      startPublisher({ redisUrl: server.url, ...roomy }),
      startPublisher({ redisUrl: server.url, maxBuffered: 20, ...small }),
    ]
    const clicks = queue('clicks')
    const codesIn = async () =>
      (await clicks.getWaiting()).map((job) => (job.data as LinkEvent).code)
    const emit = (code: string, times: number) => {
      for (let i = 0; i < times; i++)
        publishers[code === 'small' ? 1 : 0]!.emit(
          'link.clicked',
          code,
          request,
        )
    }
    try {
      emit('roomy', 30)
      await waitFor(
        'the first events',
        async () => (await codesIn()).length === 30,
      )
      await server.kill()
      emit('roomy', 100)
      emit('small', 50)
      await server.restart()
      await waitFor(
        'the buffered events',
        async () => (await codesIn()).length >= 130 + 20,
        { timeoutMs: 10_000 },
      )
      const codes = await codesIn()
      expect(codes.filter((code) => code === 'roomy')).toHaveLength(130)
      // 50 events into a buffer of 20: 30 dropped, and counted.
      expect(codes.filter((code) => code === 'small')).toHaveLength(20)
      expect(roomy.metrics.snapshot()['events.dropped']).toBeUndefined()
      expect(small.metrics.snapshot()['events.dropped']).toBe(30)
      expect(
        roomy.metrics.snapshot()['events.publish_failures'],
      ).toBeGreaterThan(0)
    } finally {
      await Promise.all(publishers.map((p) => p.close()))
    }
  })

  it('says how far behind the counts are from the time of the oldest click not counted yet, whether it waits, or waits out a retry', async () => {
    const publisher = startPublisher({
      redisUrl: server.url,
      lagSampleMs: 20,
      metrics: createMetrics(),
    })
    const clicks = queue('clicks')
    const click = (id: string, agoMs: number): LinkEvent => ({
      id,
      type: 'link.clicked',
      code: 'lagging',
      at: Date.now() - agoMs,
    })
    const lagReaches = (atLeastMs: number) =>
      waitFor(
        `a lag of ${atLeastMs} ms`,
        () => (publisher.clicksLagMs() ?? 0) >= atLeastMs,
        { timeoutMs: 3000 },
      )
    try {
      await waitFor('a first sample', () => publisher.clicksLagMs() === 0)
      // A click made 5 s ago, queued only now (its app server buffered it
      // while Redis was away): 5 s behind, however fresh the job is.
      await clicks.add('link.clicked', click('late', 5000), { jobId: 'late' })
      await lagReaches(5000)
      await clicks.remove('late')
      // A click whose batch failed waits out its back-off, delayed: not
      // counted either.
      await clicks.add('link.clicked', click('retried', 8000), {
        jobId: 'retried',
        delay: 60_000,
      })
      await lagReaches(8000)
      await clicks.remove('retried')
      await waitFor('no lag', () => publisher.clicksLagMs() === 0)
    } finally {
      await publisher.close()
    }
  })
})
