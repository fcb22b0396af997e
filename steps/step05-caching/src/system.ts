// The whole system of this step, as its diagram reads:
//
//                              ┌──▶ app-1 ──┐  writes  ┌─▶ db-1 (primary)
//   client ──▶ load-balancer ──┼──▶ app-2 ──┼──────────┤     │ log
//                              └──▶ app-3 ──┘  reads   └─▶ db-2, db-3 (replicas)
//                                     ▲ topology   │ cache (L1 in each app)
//                                  monitor       └─▶ redis (L2, shared)
//
// Tests launch it in-process; `npm start` launches every node as a process.
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
  const port = await at(0)
  const publicUrl = options.publicUrl ?? `http://${LOOPBACK}:${port}`
  const appPorts = await Promise.all(
    Array.from({ length: options.appServers ?? 3 }, (_, i) => at(i + 1)),
  )
  // The front door too: PUBLIC_URL may name another address.
  const selfUrls = [port, ...appPorts].map((p) => `http://${LOOPBACK}:${p}`)
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
  const nodes = [balancer, ...apps, cache, monitor, ...databases]
  return {
    url: balancer.url,
    nodes,
    adminToken,
    close: async () => {
      await balancer.close()
      await Promise.all(apps.map((app) => app.close()))
      await cache.close()
      await monitor.close()
      await Promise.all(databases.map((db) => db.close()))
    },
  }
}
