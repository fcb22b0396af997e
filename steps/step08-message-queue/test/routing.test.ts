// The exercise: the exchange's routing. `npm test -- step08` runs these
// against exercises/; each failure names the hint to ask for. The expected
// answers are what a real RabbitMQ (3.10.8) routed for the same bindings
// and keys, asked with amqplib on this workshop's machine.
import { Queue } from 'bullmq'
import Redis from 'ioredis'
import { startRedis, type RedisHandle } from '../../../shared/redis'
import { hinted } from '../../../shared/testing/hint'
import { createMetrics } from '../src/common/metrics'
import { connectExchanges, PreconditionFailed } from '../src/queue/exchange'
import { route, topicMatches, type Binding } from '../src/queue/routing'

// [binding key, routing key, did RabbitMQ deliver?], by theme.
type Fact = [binding: string, routingKey: string, delivered: boolean]
const TOPIC_FACTS: Record<string, Fact[]> = {
  'matches plain words exactly, case and all': [
    ['link.clicked', 'link.clicked', true],
    ['link.clicked', 'link.created', false],
    ['a.b', 'a.b.c', false],
    ['a', 'A', false],
  ],
  'matches * to exactly one word, an empty word too': [
    ['link.*', 'link.clicked', true],
    ['*.clicked', 'link.clicked', true],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['a.*.c', 'a..c', true],
    ['a.*', 'a.', true],
    ['*.*', '.', true],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*', '', false], // "" has no words at all
  ],
  'matches # alone to every key, "" too': [
    ['#', '', true],
    ['#', 'a', true],
    ['#', 'a.b.c', true],
  ],
  'matches # at either end to zero or more words': [
    ['a.#', 'a', true],
    ['a.#', 'a.b.c', true],
    ['a.#', 'ab', false],
    ['link.#', 'link.clicked.us', true],
    ['#.c', 'c', true],
    ['#.c', 'a.b.c', true],
    ['#.c', 'ac', false],
  ],
  'matches # in the middle, and #s beside other wildcards': [
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.d.c', true],
    ['a.#.c', 'a.b.d', false],
    ['#.#', 'a', true],
    ['#.*', '', false],
    ['#.*', 'a', true],
    ['*.#', 'a', true],
    ['a.#.#.b', 'a.b', true],
  ],
  'matches the empty binding key only to the empty routing key': [
    ['', '', true],
    ['', 'a', false],
  ],
}

describe('routing: topic exchanges, word by word', () => {
  it.each(Object.entries(TOPIC_FACTS))('%s', (_, facts) =>
    hinted('Hint 1: topic words, # and *', () => {
      const answers = facts.map(([binding, key]): Fact => [
        binding,
        key,
        topicMatches(binding, key),
      ])
      expect(answers).toEqual(facts)
    })(),
  )

  it(
    'answers a long key against many #s at once',
    hinted('Hint 1: topic words, # and *', () => {
      const key = Array(40).fill('w').join('.') + '.x'
      const started = performance.now()
      expect(topicMatches('#.#.#.#.#.#.#.#.y', key)).toBe(false)
      // Every way to share 41 words among eight #s: a billion calls and
      // seconds. One remembered answer per (i, j) instead: at most 420.
      expect(performance.now() - started).toBeLessThan(1000)
      expect(topicMatches('#.#.#.#.#.#.#.#.#.#.#.#.y', key)).toBe(false)
      expect(topicMatches('#.#.#.#.#.#.#.#.#.#.#.#.x', key)).toBe(true)
    }),
  )
})

const bound = (...pairs: [string, string][]): Binding[] =>
  pairs.map(([queue, key]) => ({ queue, key }))

describe('routing: which bindings each type of exchange matches', () => {
  it(
    'sends a direct message only where the key is exactly the same',
    hinted('Hint 2: direct and fanout', () => {
      const bindings = bound(['emails', 'email'], ['sms', 'sms'])
      expect(
        ['email', 'Email', 'email.x', '', 'sms'].map((key) =>
          route('direct', bindings, key),
        ),
      ).toEqual([['emails'], [], [], [], ['sms']])
    }),
  )

  it(
    'copies a fanout message to every bound queue, whatever the keys',
    hinted('Hint 2: direct and fanout', () => {
      const bindings = bound(['audit', 'whatever'], ['backup', ''])
      expect(route('fanout', bindings, 'other')).toEqual(['audit', 'backup'])
      expect(route('fanout', [], 'other')).toEqual([])
    }),
  )

  it(
    'does not treat * or # as patterns in a direct exchange',
    hinted('Hint 2: direct and fanout', () => {
      const bindings = bound(['all', '#'], ['one', 'link.*'])
      expect(route('direct', bindings, 'link.clicked')).toEqual([])
      expect(route('direct', bindings, '#')).toEqual(['all'])
    }),
  )

  it(
    'reads a topic binding key as the pattern, and the routing key as plain words',
    hinted('Hint 2: direct and fanout', () => {
      // By the topic rules above: a routing key's * and # are plain words.
      const bindings = bound(
        ['clicks', 'link.clicked'],
        ['links', 'link.*'],
        ['us', '#.us'],
      )
      expect(
        ['link.clicked', 'link.*', 'link.clicked.us', '#'].map((key) =>
          route('topic', bindings, key),
        ),
      ).toEqual([['clicks', 'links'], ['links'], ['us'], []])
    }),
  )
})

describe('routing: one copy per queue', () => {
  it(
    'gives a queue one copy when several of its bindings match',
    hinted('Hint 3: one copy per queue', () => {
      // RabbitMQ delivered one message for these four bindings, not four.
      const bindings = bound(
        ['clicks', 'link.*'],
        ['clicks', 'link.#'],
        ['clicks', '#'],
        ['clicks', 'link.clicked'],
      )
      expect(route('topic', bindings, 'link.clicked')).toEqual(['clicks'])
    }),
  )

  it(
    'keeps every other matching queue, in the order of their bindings',
    hinted('Hint 3: one copy per queue', () => {
      const bindings = bound(
        ['stats', 'link.#'],
        ['clicks', 'link.clicked'],
        ['stats', '#'],
        ['deletes', 'link.deleted'],
        ['us', '*.*.us'],
      )
      expect(route('topic', bindings, 'link.clicked')).toEqual([
        'stats',
        'clicks',
      ])
      expect(route('topic', bindings, 'link.clicked.us')).toEqual([
        'stats',
        'us',
      ])
    }),
  )
})

describe('routing through the real exchanges, into BullMQ queues', () => {
  let redisServer: RedisHandle
  let redis: Redis
  beforeAll(async () => {
    redisServer = await startRedis({ redisUrl: undefined })
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 })
  })
  afterAll(async () => {
    redis.disconnect()
    await redisServer.close()
  })
  beforeEach(() => redis.flushall())

  const waiting = async (name: string) => {
    const queue = new Queue(name, { connection: redis })
    const jobs = await queue.getWaiting()
    await queue.close()
    return jobs.map((job) => (job.data as { id: string }).id).sort()
  }

  it(
    'puts each message in the queues its bindings route it to, one job each',
    hinted('Hint 3: one copy per queue', async () => {
      const metrics = createMetrics()
      const exchanges = connectExchanges({ redis, metrics })
      await exchanges.declareExchange('link-events', 'topic')
      await exchanges.declareExchange('audit', 'fanout')
      await exchanges.bind('link-events', 'clicks', 'link.clicked')
      await exchanges.bind('link-events', 'stats', 'link.*')
      await exchanges.bind('link-events', 'stats', 'link.#')
      await exchanges.bind('audit', 'audit', '')
      try {
        expect(
          await exchanges.publish('link-events', 'link.clicked', { id: 'c1' }),
        ).toEqual(['clicks', 'stats'])
        await exchanges.publish('link-events', 'link.created', { id: 'n1' })
        await exchanges.publish('link-events', 'other.thing', { id: 'o1' })
        await exchanges.publish('audit', 'link.created', { id: 'n1' })
        expect({
          clicks: await waiting('clicks'),
          stats: await waiting('stats'),
          audit: await waiting('audit'),
        }).toEqual({ clicks: ['c1'], stats: ['c1', 'n1'], audit: ['n1'] })
        // other.thing had no queue to go to: counted, not lost in silence.
        expect(metrics.snapshot()['mq.unroutable']).toBe(1)
      } finally {
        await exchanges.close()
      }
    }),
  )

  it(
    'declares idempotently, and refuses to change an exchange type, as RabbitMQ does (406 PRECONDITION_FAILED)',
    hinted('Hint 2: direct and fanout', async () => {
      const exchanges = connectExchanges({ redis, metrics: createMetrics() })
      try {
        await exchanges.declareExchange('notify', 'direct')
        await exchanges.declareExchange('notify', 'direct')
        await exchanges.bind('notify', 'emails', 'email')
        await exchanges.bind('notify', 'emails', 'email')
        await expect(
          exchanges.declareExchange('notify', 'topic'),
        ).rejects.toBeInstanceOf(PreconditionFailed)
        await expect(
          exchanges.bind('nowhere', 'emails', 'email'),
        ).rejects.toBeInstanceOf(PreconditionFailed)
        await exchanges.publish('notify', 'email', { id: 'e1' })
        expect(await waiting('emails')).toEqual(['e1'])
      } finally {
        await exchanges.close()
      }
    }),
  )

  it(
    'keeps one job when a message is published again after a failure half way',
    hinted('Hint 3: one copy per queue', async () => {
      const exchanges = connectExchanges({ redis, metrics: createMetrics() })
      try {
        await exchanges.declareExchange('audit', 'fanout')
        await exchanges.bind('audit', 'audit', '')
        await exchanges.publish('audit', 'link.created', { id: 'same' })
        await exchanges.publish('audit', 'link.created', { id: 'same' })
        expect(await waiting('audit')).toEqual(['same'])
      } finally {
        await exchanges.close()
      }
    }),
  )
})
