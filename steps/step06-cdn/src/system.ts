// The whole system of this step, as its diagram reads:
//
//   US client ────▶ edge-us ─────── wan (far) ──┐   origin, in Asia:
//   Asia client ──▶ edge-asia ───── wan (near) ─┼─▶ load-balancer ─▶ app-1..3
//   US client without the CDN ──── wan (far) ──┘        │     redis, monitor,
//                                                       └──▶  db-1..3
//
// The origin is step 5's system, unchanged. Tests launch it in-process;
// `npm start` launches every node as a process.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LOOPBACK, freePort } from '../../../shared/net'
import { redisNode, startRedis } from '../../../shared/redis'
import {
  inProcess,
  type Launch,
  type RunningNode,
} from '../../../shared/launcher'
import type { PolicyName } from './balancer/balancing-policy'
import type { RateLimitOptions } from './balancer/rate-limit'
import { roles } from './roles'

export interface SystemOptions {
  dataDir: string
  /** The front door's port; the others follow it. 0 picks free ports. */
  port?: number
  appServers?: number
  policy?: PolicyName
  healthIntervalMs?: number
  rise?: number
  fall?: number
  timeoutMs?: number
  rateLimit?: RateLimitOptions
  /** Where short URLs point (PUBLIC_URL); by default the front door. */
  publicUrl?: string
  dbToken?: string
  dbTimeoutMs?: number
  /** 'semi-sync': a write is acknowledged once a replica applied it. */
  ackMode?: 'async' | 'semi-sync'
  /** The monitor checks the primary this often; `monitorFall` misses = failover. */
  monitorIntervalMs?: number
  monitorFall?: number
  maxLagMs?: number
  readWaitMs?: number
  /** The secret for backups and recovery; random by default. */
  adminToken?: string
  /** Log entries each database node keeps (the archive for recovery). */
  logRetention?: number
  /** One way, between the US and the origin in Asia: a round trip is twice it. */
  farDelayMs?: number
  /** One way, between Asia's edge and the origin. */
  nearDelayMs?: number
  /** The secret a purge must carry; random by default. */
  purgeToken?: string
  edgeCache?: { maxBytes?: number; maxEntryBytes?: number }
  edgeRateLimit?: RateLimitOptions | false
  /** How long shared caches may keep the page before they revalidate it. */
  pageMaxAgeSeconds?: number
  /** Use this Redis instead of starting a private redis-server. */
  redisUrl?: string
  cache?: {
    l1MaxEntries?: number
    l1TtlMs?: number
    l2TtlMs?: number
    negativeTtlMs?: number
    redisTimeoutMs?: number
  }
}

export interface System {
  url: string
  nodes: RunningNode[]
  /** For `npm run backup` and `npm run restore`. */
  adminToken: string
  /** For POST /_edge/purge on either edge. */
  purgeToken: string
  /** The origin as a US client reaches it without the CDN (across the WAN). */
  originFromUs: string
  close(): Promise<void>
}

export async function startSystem(
  options: SystemOptions,
  launch: Launch<typeof roles> = inProcess(roles),
): Promise<System> {
  // Peers must know each other's address before they start.
  const at = (offset: number) =>
    options.port ? Promise.resolve(options.port + offset) : freePort()
  const dbToken = options.dbToken ?? randomBytes(24).toString('base64url')
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url')
  const intervalMs = options.healthIntervalMs ?? 1000
  const fall = options.fall ?? 3
  const monitorIntervalMs = options.monitorIntervalMs ?? 500

  const dbPorts = await Promise.all([at(10), at(11), at(12)])
  const dbNodes = dbPorts.map((port, i) => ({
    name: `db-${i + 1}`,
    url: `http://127.0.0.1:${port}`,
  }))
  const primary = dbNodes[0]!
  const database = (node: { name: string; url: string }, i: number) =>
    launch('database', {
      name: node.name,
      port: dbPorts[i],
      dataFile: join(options.dataDir, `${node.name}.db`),
      token: dbToken,
      adminToken,
      replication: {
        role: node === primary ? 'primary' : 'replica',
        primaryUrl: primary.url,
        peers: dbNodes.filter((peer) => peer !== node).map((peer) => peer.url),
        ackMode: options.ackMode,
        // Shorter than the apps' database timeout, or a late ack is a 503.
        semiSyncTimeoutMs: Math.floor((options.dbTimeoutMs ?? 1000) / 2),
        logRetention: options.logRetention,
      },
    })
  const databases = await Promise.all(dbNodes.map(database))
  const monitor = await launch('monitor', {
    name: 'monitor',
    port: await at(20),
    token: dbToken,
    nodes: dbNodes,
    intervalMs: monitorIntervalMs,
    fall: options.monitorFall,
  })
  const redis = await startRedis({
    port: options.port ? options.port + 30 : undefined,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  })
  const cache = redisNode('redis', redis)
  const url = (p: number) => `http://${LOOPBACK}:${p}`
  const [edgeUs, edgeAsia, port, ...wanPorts] = await Promise.all(
    [0, 40, 50, 60, 61, 62].map(at),
  )
  // Short links point at the first edge: that is where clients come in.
  const publicUrl = options.publicUrl ?? url(edgeUs!)
  const appPorts = await Promise.all(
    Array.from({ length: options.appServers ?? 3 }, (_, i) => at(i + 1)),
  )
  // Every address that answers redirects: a link to one would loop.
  const selfUrls = [edgeUs!, edgeAsia!, port!, ...wanPorts, ...appPorts].map(
    url,
  )
  const apps = await Promise.all(
    appPorts.map((appPort, i) =>
      launch('app', {
        name: `app-${i + 1}`,
        port: appPort,
        publicUrl,
        selfUrls,
        monitorUrl: monitor.url,
        dbToken,
        dbTimeoutMs: options.dbTimeoutMs,
        maxLagMs: options.maxLagMs,
        readWaitMs: options.readWaitMs,
        topologyIntervalMs: monitorIntervalMs,
        redisUrl: redis.url,
        cache: options.cache,
        pageMaxAgeSeconds: options.pageMaxAgeSeconds,
        // Outlast the balancer's detection time, with intervals to spare.
        drainGraceMs: (fall + 2) * intervalMs,
        drainQuietMs: 2 * intervalMs,
      }),
    ),
  )
  const balancer = await launch('load-balancer', {
    name: 'load-balancer',
    port,
    servers: apps.map((app) => app.url),
    policy: options.policy,
    rise: options.rise,
    fall,
    healthCheck: { intervalMs },
    timeoutMs: options.timeoutMs,
    rateLimit: options.rateLimit,
  })
  const far = options.farDelayMs ?? 100
  const near = options.nearDelayMs ?? 5
  const [toUs, toAsia, fromUs] = wanPorts as [number, number, number]
  const wan = await launch('wan', {
    name: 'wan',
    links: [
      {
        name: 'edge-us -> origin',
        port: toUs,
        target: balancer.url,
        delayMs: far,
      },
      {
        name: 'edge-asia -> origin',
        port: toAsia,
        target: balancer.url,
        delayMs: near,
      },
      {
        name: 'US client -> origin',
        port: fromUs,
        target: balancer.url,
        delayMs: far,
      },
    ],
  })
  const purgeToken = options.purgeToken ?? randomBytes(24).toString('base64url')
  const edge = (name: string, edgePort: number, linkPort: number) =>
    launch('edge', {
      name,
      port: edgePort,
      origin: url(linkPort),
      purgeToken,
      ...options.edgeCache,
      rateLimit: options.edgeRateLimit,
    })
  const edges = await Promise.all([
    edge('edge-us', edgeUs!, toUs),
    edge('edge-asia', edgeAsia!, toAsia),
  ])
  const nodes = [...edges, wan, balancer, ...apps, cache, monitor, ...databases]
  return {
    url: edges[0]!.url,
    nodes,
    adminToken,
    purgeToken,
    originFromUs: url(fromUs),
    close: async () => {
      await Promise.all(edges.map((node) => node.close()))
      await wan.close()
      await balancer.close()
      await Promise.all(apps.map((app) => app.close()))
      await cache.close()
      await monitor.close()
      await Promise.all(databases.map((db) => db.close()))
    },
  }
}
