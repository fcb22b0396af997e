// An app server: the app, its store, and a port. It keeps no state of its
// own, so the balancer can send any request to any app server; and on
// close() (SIGTERM) it drains before it exits, so a restart drops nothing.
// Its store now routes writes to the primary and reads to the replicas,
// behind two cache layers: its own memory, and Redis. Now each link has an
// owner shard, found through the shard map that the witness keeps.
import { createServer } from 'node:http'
import Redis from 'ioredis'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { createCachedStore } from '../cache/cached-store'
import { createDrain } from './drain'
import { startInvalidation } from '../cache/invalidation'
import { followChanges } from '../cache/log-invalidation'
import { startPublisher } from '../queue/publisher'
import { createMetrics } from '../common/metrics'
import { createRedisCache } from '../cache/redis-cache'
import { createShardedStore } from '../sharding/sharded-store'
import { withRequestContext } from './request-context'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  /** The witness, which knows each shard's primary and replicas, and
   * keeps the shard map. */
  witnessUrl: string
  /** This app server's data center: it reads its replicas, shows X-Region. */
  region: string
  /** How this region reaches each database node, by name. */
  dbAddresses?: Record<string, string>
  dbToken: string
  dbTimeoutMs?: number
  /** A replica further behind leaves the read pool. */
  maxLagMs?: number
  /** How long a read waits for a replica to reach the client's last write. */
  readWaitMs?: number
  topologyIntervalMs?: number
  /** How often the shard map is read (a refused request reads it at once). */
  shardMapIntervalMs?: number
  /** Where short URLs point: the front door (PUBLIC_URL). */
  publicUrl: string
  /** This shortener's own addresses (edges, balancers, app servers): a
   * link to one of them would loop. */
  selfUrls?: string[]
  /** The shared cache; the app works (slower) while it is down. */
  redisUrl: string
  /** The Redis that holds the queues (the home region's, maybe far). */
  queueRedisUrl: string
  /** How many events wait for the queues before new ones are dropped. */
  maxBufferedEvents?: number
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
  const sharded = await createShardedStore({
    witnessUrl: options.witnessUrl,
    token: options.dbToken,
    timeoutMs: options.dbTimeoutMs,
    intervalMs: options.topologyIntervalMs,
    mapIntervalMs: options.shardMapIntervalMs,
    region: options.region,
    addresses: options.dbAddresses ?? {},
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
    inner: sharded.store,
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
  // This region's caches follow this region's replica of every shard: no
  // stale refill. A shard that joins the map is followed from then on.
  const following = new Map<string, () => void>()
  const followShards = async () => {
    const shards = await sharded.shards()
    for (const shard of shards) {
      if (following.has(shard.name)) continue
      const stop = followChanges({
        nodes: shard.nodes,
        region: options.region,
        token: options.dbToken,
        invalidate: (code) => {
          void l2.invalidate(code)
          cached.dropLocal(code)
        },
      })
      following.set(shard.name, stop)
    }
    for (const [name, stop] of following)
      if (!shards.some((shard) => shard.name === name)) {
        stop()
        following.delete(name)
      }
  }
  await followShards()
  const followTimer = setInterval(
    () => void followShards().catch(() => {}),
    options.topologyIntervalMs ?? 500,
  )
  const store = cached.store
  const events = startPublisher({
    redisUrl: options.queueRedisUrl,
    region: options.region,
    maxBuffered: options.maxBufferedEvents,
    metrics,
  })
  const app = createApp({
    store,
    node: options.name,
    region: options.region,
    publicUrl: options.publicUrl,
    selfUrls: options.selfUrls,
    pageMaxAgeSeconds: options.pageMaxAgeSeconds,
    events,
    metrics,
    stats: sharded.countLinks,
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
      clearInterval(followTimer)
      for (const stop of following.values()) stop()
      await events.close() // what the buffer still holds goes out first
      await sharded.store.close()
      redis.disconnect()
      subscriber.disconnect()
    },
  }
}
