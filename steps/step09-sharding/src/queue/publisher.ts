// The app server's side of the queue: every event goes into the bounded
// buffer at once (the request never waits), and from there to its exchanges
// (events.ts), declared on first use. The queues' Redis may be away, or far:
// the buffer waits for it.
import Redis from 'ioredis'
import type { IncomingMessage } from 'node:http'
import type { Metrics } from '../common/metrics'
import { createEventBuffer } from './event-buffer'
import {
  declare,
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

export function startPublisher({
  redisUrl,
  region,
  maxBuffered = 10_000,
  lagSampleMs = 1000,
  metrics,
}: PublisherOptions) {
  // Fail fast while Redis is away: the buffer, not Redis's client, waits.
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  })
  redis.on('error', () => metrics.count('events.redis_errors'))
  const exchanges = connectExchanges({ redis, metrics })
  let declared: Promise<void> | undefined
  // A Redis that comes back may have lost its last second of writes (the
  // AOF is synced every second), declarations included: declare again
  // before the next publish, or every event would be unroutable.
  redis.on('ready', () => (declared = undefined))

  const buffer = createEventBuffer<LinkEvent>({
    maxEvents: maxBuffered,
    metrics,
    publish: async (events) => {
      declared ??= declare(exchanges).catch((error: unknown) => {
        declared = undefined // try again with the next publish
        throw error
      })
      await declared
      await exchanges.publishAll(events.flatMap(publications))
    },
  })

  // How far behind the click counts are: the age of the oldest click still
  // waiting, sampled in the background so no request waits on the queues'
  // Redis (across the WAN, for us). Unknown (null) while Redis is away.
  let lag: number | null = null
  const sample = async () => {
    const [oldest] = await exchanges.queue('clicks').getWaiting(0, 0)
    lag = oldest ? Math.max(0, Date.now() - oldest.timestamp) : 0
  }
  const resample = () => void sample().catch(() => (lag = null))
  const sampler = setInterval(resample, lagSampleMs)
  redis.on('ready', resample)

  return {
    emit(type: EventType, code: string, req: IncomingMessage) {
      buffer.push(linkEvent(type, code, req, region))
    },
    clicksLagMs: () => lag,
    async close() {
      clearInterval(sampler)
      await buffer.close()
      await exchanges.close()
      redis.disconnect()
    },
  }
}
