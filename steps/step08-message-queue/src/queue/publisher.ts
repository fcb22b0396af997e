// The app server's side of the queue: every event goes into the bounded
// buffer at once (the request never waits), and from there to its exchanges
// (events.ts), declared as soon as the connection is up. The queues' Redis
// may be away, or far: the buffer waits for it.
import Redis from 'ioredis'
import type { IncomingMessage } from 'node:http'
import type { Metrics } from '../common/metrics'
import { createEventBuffer } from './event-buffer'
import {
  declareOnConnect,
  linkEvent,
  publications,
  type EventType,
  type LinkEvent,
} from './events'
import { connectExchanges } from './exchange'

export interface PublisherOptions {
  /** The Redis that holds the queues. */
  redisUrl: string
  region?: string
  maxBuffered?: number
  /** How often the click counts' lag is measured. */
  lagSampleMs?: number
  metrics: Metrics
}

/** An app server's connection to the queues: it fails fast while Redis is
 * away, since the buffer, not Redis's client, waits. */
export function connectQueues(redisUrl: string, metrics: Metrics) {
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  })
  redis.on('error', () => metrics.count('events.redis_errors'))
  return redis
}

export function startPublisher({
  redisUrl,
  region,
  maxBuffered = 10_000,
  lagSampleMs = 1000,
  metrics,
}: PublisherOptions) {
  const redis = connectQueues(redisUrl, metrics)
  const exchanges = connectExchanges({ redis, metrics })
  const declared = declareOnConnect(redis, exchanges, () =>
    metrics.count('events.declare_failures'),
  )

  const buffer = createEventBuffer<LinkEvent>({
    maxEvents: maxBuffered,
    metrics,
    publish: async (events) => {
      await declared()
      await exchanges.publishAll(events.flatMap(publications))
    },
  })

  // How far behind the click counts are: the age of the oldest click not
  // counted yet, from the time it happened (it may have waited in a buffer
  // before it reached the queue), first in line, in a worker's hands or
  // waiting out a retry. Sampled in the background so no request waits on
  // the queues' Redis (across the WAN, for us); unknown (null) while Redis
  // is away. Trade-off: the first of each list, not every job's time.
  let oldestAt: number | null = null
  const sample = async () => {
    const jobs = await exchanges
      .queue('clicks')
      .getJobs(['waiting', 'active', 'delayed'], 0, 0, true)
    const times = jobs.map((job) => {
      const at = (job.data as Partial<LinkEvent> | null)?.at
      return Number.isFinite(at) ? (at as number) : job.timestamp
    })
    oldestAt = Math.min(Infinity, ...times)
  }
  const resample = () => void sample().catch(() => (oldestAt = null))
  const sampler = setInterval(resample, lagSampleMs)
  redis.on('ready', resample)

  return {
    emit(type: EventType, code: string, req: IncomingMessage) {
      buffer.push(linkEvent(type, code, req, region))
    },
    clicksLagMs() {
      if (oldestAt === null) return null
      const at = Math.min(oldestAt, buffer.oldest()?.at ?? Infinity)
      return at === Infinity ? 0 : Math.max(0, Date.now() - at)
    },
    async close() {
      clearInterval(sampler)
      await buffer.close()
      await exchanges.close()
      redis.disconnect()
    },
  }
}
