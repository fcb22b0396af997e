// Invalidation across app servers. L1 lives in each app server's memory, so
// a change must reach all of them: Redis pub/sub carries the code to every
// subscriber, each drops its copy and acknowledges, and the writer waits for
// as many acknowledgements as PUBLISH counted receivers (bounded). Then
// "deleted" means deleted everywhere. Trade-off: pub/sub is fire-and-forget:
// an app server cut off from Redis misses the message and keeps its copy
// until its short L1 TTL ends.
import { randomUUID } from 'node:crypto'
import type Redis from 'ioredis'
import type { Metrics } from '../common/metrics'
import { waitFor } from '../../../../shared/wait-for'

const CHANNEL = 'links:invalidate'

export interface InvalidationOptions {
  redis: Redis
  /** A second connection: a subscribed connection can do nothing else. */
  subscriber: Redis
  /** Drops the code from this app server's L1. */
  drop(code: string): void
  ackTimeoutMs: number
  metrics: Metrics
}

export async function startInvalidation({
  redis,
  subscriber,
  drop,
  ackTimeoutMs,
  metrics,
}: InvalidationOptions) {
  subscriber.on('message', (channel: string, message: string) => {
    // Anyone with access to Redis can publish: a bad message is ignored.
    const { code, id } = parse(message)
    if (typeof code !== 'string' || typeof id !== 'string') return
    drop(code)
    const ack = `ack:${id}`
    redis
      .multi()
      .incr(ack)
      .pexpire(ack, 10_000)
      .exec()
      .catch(() => {})
  })
  // Subscribe on every (re)connection: ioredis re-subscribes only channels
  // that were confirmed, and an app that starts while Redis is down has none.
  const subscribe = () => void subscriber.subscribe(CHANNEL).catch(() => {})
  subscriber.on('ready', subscribe)
  subscribe()

  return {
    async publish(code: string) {
      const id = randomUUID()
      try {
        const receivers = await redis.publish(
          CHANNEL,
          JSON.stringify({ code, id }),
        )
        await waitFor(
          'every app server to drop its copy',
          async () => Number(await redis.get(`ack:${id}`)) >= receivers,
          {
            timeoutMs: ackTimeoutMs,
            intervalMs: 2,
          },
        )
      } catch {
        metrics.count('cache.invalidation_failures') // L1 TTLs bound the damage
      }
    },
  }
}

export type Invalidation = Awaited<ReturnType<typeof startInvalidation>>

function parse(message: string): { code?: unknown; id?: unknown } {
  try {
    return JSON.parse(message) ?? {}
  } catch {
    return {}
  }
}
