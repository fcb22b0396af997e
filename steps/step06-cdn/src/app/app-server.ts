// An app server: the app, its store, and a port. It keeps no state of its
// own, so the balancer can send any request to any app server; and on
// close() (SIGTERM) it drains before it exits, so a restart drops nothing.
// Its store now routes writes to the primary and reads to the replicas,
// behind two cache layers: its own memory, and Redis.
import { createServer } from 'node:http'
import Redis from 'ioredis'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { createCachedStore } from '../cache/cached-store'
import { watchDbNodes } from '../database/db-nodes'
import { createDrain } from './drain'
import { startInvalidation } from '../cache/invalidation'
import { createMetrics } from '../common/metrics'
import { createRedisCache } from '../cache/redis-cache'
import { createReplicatedStore } from '../database/replicated-store'
import { withRequestContext } from './request-context'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  /** The monitor, which knows the primary and the replicas. */
  monitorUrl: string
  dbToken: string
  dbTimeoutMs?: number
  /** A replica further behind leaves the read pool. */
  maxLagMs?: number
  /** How long a read waits for a replica to reach the client's last write. */
  readWaitMs?: number
  topologyIntervalMs?: number
  /** Where short URLs point: the front door (PUBLIC_URL). */
  publicUrl: string
  /** This shortener's own addresses (edges, balancers, app servers): a
   * link to one of them would loop. */
  selfUrls?: string[]
  /** The shared cache; the app works (slower) while it is down. */
  redisUrl: string
  cache?: {
    l1MaxEntries?: number
    l1TtlMs?: number
    l2TtlMs?: number
    negativeTtlMs?: number
    /** A Redis command slower than this counts as a miss. */
    redisTimeoutMs?: number
  }
  /** How long shared caches may keep the page before they revalidate it. */
  pageMaxAgeSeconds?: number
  /** How long to keep serving after SIGTERM while the balancer notices. */
  drainGraceMs?: number
  /** Stop sooner when no request (not even a health check) came this long. */
  drainQuietMs?: number
}

export async function startAppServer(
  options: AppServerOptions,
): Promise<Handle> {
  const metrics = createMetrics()
  const nodes = await watchDbNodes({
    monitorUrl: options.monitorUrl,
    token: options.dbToken,
    timeoutMs: options.dbTimeoutMs,
    intervalMs: options.topologyIntervalMs,
  })
  const replicated = createReplicatedStore({
    nodes,
    maxLagMs: options.maxLagMs ?? 1000,
    readWaitMs: options.readWaitMs ?? 200,
    metrics,
  })
  // Trade-off: no offline queue and a short timeout. While Redis is away,
  // commands fail at once and the app reads the database instead of waiting.
  const cache = options.cache ?? {}
  for (const [name, value] of Object.entries(cache)) {
    if (!(typeof value === 'number' && value > 0)) {
      throw new TypeError(
        `AppServerOptions.cache.${name} must be a positive number of ms or entries`,
      )
    }
  }
  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    commandTimeout: cache.redisTimeoutMs ?? 200,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  })
  redis.on('error', () => metrics.count('cache.redis_errors'))
  const subscriber = redis.duplicate({ enableOfflineQueue: true })
  subscriber.on('error', () => {})
  const l2 = createRedisCache({
    redis,
    ttlMs: cache.l2TtlMs ?? 60_000,
    negativeTtlMs: cache.negativeTtlMs ?? 5_000,
    leaseMs: 500,
    // A replica may serve reads until its lag, as the monitor last saw it,
    // passes maxLagMs: keep refills away for that long, plus two refreshes.
    invalidatedMs:
      (options.maxLagMs ?? 1000) + 2 * (options.topologyIntervalMs ?? 500),
    metrics,
  })
  const cached = createCachedStore({
    inner: replicated,
    l2,
    l1MaxEntries: cache.l1MaxEntries ?? 10_000,
    l1TtlMs: cache.l1TtlMs ?? 5_000,
    metrics,
  })
  cached.useInvalidation(
    await startInvalidation({
      redis,
      subscriber,
      drop: cached.dropLocal,
      ackTimeoutMs: 500,
      metrics,
    }),
  )
  const store = cached.store
  const app = createApp({
    store,
    node: options.name,
    publicUrl: options.publicUrl,
    selfUrls: options.selfUrls,
    pageMaxAgeSeconds: options.pageMaxAgeSeconds,
    metrics,
  })
  const drain = createDrain(options.name, {
    graceMs: options.drainGraceMs ?? 0,
    quietMs: options.drainQuietMs,
  })
  const http = createServer(drain.guard(withRequestContext(app)))
  const server = await listen(http, options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await drain.drain(http)
      await server.close()
      await nodes.close()
      redis.disconnect()
      subscriber.disconnect()
    },
  }
}
