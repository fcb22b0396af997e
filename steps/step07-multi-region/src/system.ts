// The whole system of this step, as its diagram reads:
//
//   US client ───▶ edge-us ───┐                  ┌─▶ asia: asia-lb ─▶ app-asia-1..2
//                             ├─▶ global-balancer┤          redis-asia, db-asia-1 (primary),
//   Asia client ─▶ edge-asia ─┘   (nearest       │          db-asia-2 (replica)
//                                  healthy)      └─▶ us:   us-lb ─▶ app-us-1..2
//                                                           redis-us, db-us-1 (replica)
//   witness (outside both regions): leases, failover     wan: every link between places
//
// Each region has its own balancer, app servers, Redis and database nodes;
// one primary, in the home region (asia). Every link between the regions,
// and to the witness, crosses the WAN. Tests launch it in-process; `npm
// start` launches every node as a process.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LOOPBACK, freePort } from '../../../shared/net'
import { redisNode, startRedis } from '../../../shared/redis'
import { waitFor } from '../../../shared/wait-for'
import {
  inProcess,
  type Launch,
  type RunningNode,
} from '../../../shared/launcher'
import type { RateLimitOptions } from './balancer/rate-limit'
import type { Mode } from './region/global-policy'
import { roles } from './roles'

export interface SystemOptions {
  dataDir: string
  /** The front door's port; the others follow it. 0 picks free ports. */
  port?: number
  /** Where short URLs point (PUBLIC_URL); by default the first edge. */
  publicUrl?: string
  healthIntervalMs?: number
  rise?: number
  fall?: number
  timeoutMs?: number
  dbToken?: string
  dbTimeoutMs?: number
  /** 'semi-sync': a write is acknowledged once a replica in another region
   * applied it. */
  ackMode?: 'async' | 'semi-sync'
  /** The witness checks the primary this often; `monitorFall` misses = failover. */
  monitorIntervalMs?: number
  monitorFall?: number
  /** How long the witness's lease lets a primary take writes. */
  leaseMs?: number
  /** The margin for clocks that drift, before another primary is promoted. */
  driftMs?: number
  maxLagMs?: number
  readWaitMs?: number
  adminToken?: string
  logRetention?: number
  /** One way, between the US and Asia: a round trip is twice it. */
  wanDelayMs?: number
  /** One way, between either region and the witness. */
  witnessDelayMs?: number
  /** 'least-loaded' trades distance for balance. */
  globalMode?: Mode
  purgeToken?: string
  edgeCache?: { maxBytes?: number; maxEntryBytes?: number }
  edgeRateLimit?: RateLimitOptions | false
  pageMaxAgeSeconds?: number
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
  adminToken: string
  purgeToken: string
  /** The WAN's own address: POST /cut and /heal (a partition). */
  wanUrl: string
  close(): Promise<void>
}

// The data centers, by port offset from the front door. asia is home.
const REGIONS = {
  asia: { lb: 50, apps: [1, 2], redis: 30, dbs: [10, 11] },
  us: { lb: 55, apps: [3, 4], redis: 31, dbs: [12] },
}
type Region = keyof typeof REGIONS
const HOME: Region = 'asia'

export async function startSystem(
  options: SystemOptions,
  launch: Launch<typeof roles> = inProcess(roles),
): Promise<System> {
  // Peers must know each other's address before they start.
  const at = (offset: number) =>
    options.port ? Promise.resolve(options.port + offset) : freePort()
  const url = (port: number) => `http://${LOOPBACK}:${port}`
  const dbToken = options.dbToken ?? randomBytes(24).toString('base64url')
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url')
  const intervalMs = options.healthIntervalMs ?? 1000
  const fall = options.fall ?? 3
  const monitorIntervalMs = options.monitorIntervalMs ?? 500
  const wanMs = options.wanDelayMs ?? 100
  const witnessMs = options.witnessDelayMs ?? 50
  const regions = Object.keys(REGIONS) as Region[]
  const others = (region: Region) => regions.filter((r) => r !== region)

  // Every address first: the WAN's links lead to them.
  const place = async (region: Region) => {
    const plan = REGIONS[region]
    return {
      region,
      lb: await at(plan.lb),
      apps: await Promise.all(plan.apps.map(at)),
      redis: options.port ? options.port + plan.redis : undefined,
      dbs: await Promise.all(
        plan.dbs.map(async (offset, i) => ({
          name: `db-${region}-${i + 1}`,
          port: await at(offset),
          region,
        })),
      ),
    }
  }
  const places = { asia: await place('asia'), us: await place('us') }
  const dbs = regions.flatMap((region) => places[region].dbs)
  const [edgeUs, edgeAsia, globalPort, witnessPort, wanPort] =
    await Promise.all([0, 40, 45, 20, 60].map(at))

  // The WAN: one link per way between places that are far apart.
  const links = [
    ...dbs.flatMap((db) => [
      ...others(db.region).map((from) => ({
        name: `${from} -> ${db.name}`,
        target: url(db.port),
        delayMs: wanMs,
      })),
      {
        name: `witness -> ${db.name}`,
        target: url(db.port),
        delayMs: witnessMs,
      },
    ]),
    ...regions.map((from) => ({
      name: `${from} -> witness`,
      target: url(witnessPort!),
      delayMs: witnessMs,
    })),
    ...regions.flatMap((to) =>
      others(to).map((from) => ({
        name: `${from} -> ${to}-lb`,
        target: url(places[to].lb),
        delayMs: wanMs,
      })),
    ),
  ]
  const linkPorts = await Promise.all(links.map((_, i) => at(61 + i)))
  const via = (name: string) =>
    url(linkPorts[links.findIndex((l) => l.name === name)]!)
  // How each place reaches each database node: nearby, or across the WAN.
  const addressBook = (from: Region) =>
    Object.fromEntries(
      dbs.map((db) => [
        db.name,
        db.region === from ? url(db.port) : via(`${from} -> ${db.name}`),
      ]),
    )
  const wan = await launch('wan', {
    name: 'wan',
    port: wanPort,
    links: links.map((link, i) => ({ ...link, port: linkPorts[i] })),
  })

  const primary = places[HOME].dbs[0]!
  const databases = await Promise.all(
    dbs.map((db) => {
      const book = addressBook(db.region)
      return launch('database', {
        name: db.name,
        region: db.region,
        port: db.port,
        dataFile: join(options.dataDir, `${db.name}.db`),
        token: dbToken,
        adminToken,
        replication: {
          role: db === primary ? 'primary' : 'replica',
          primaryUrl: book[primary.name],
          peers: dbs
            .filter((peer) => peer !== db)
            .map((peer) => book[peer.name]!),
          ackMode: options.ackMode,
          semiSyncTimeoutMs: Math.floor((options.dbTimeoutMs ?? 1000) / 2),
          logRetention: options.logRetention,
          region: db.region,
          addresses: book,
          witnessUrl: via(`${db.region} -> witness`),
        },
      })
    }),
  )

  // The witness last: it must find the primary up, or it would replace it.
  const witness = await launch('monitor', {
    name: 'witness',
    port: witnessPort,
    token: dbToken,
    nodes: dbs.map((db) => ({
      name: db.name,
      region: db.region,
      url: via(`witness -> ${db.name}`),
    })),
    intervalMs: monitorIntervalMs,
    fall: options.monitorFall,
    leaseMs: options.leaseMs,
    driftMs: options.driftMs,
  })
  // Writes can start once the primary holds its first lease and every
  // replica has heard from it: semi-sync must not start out alone.
  await waitFor(
    'the primary to hold its lease, and every replica to follow it',
    async () => {
      const states = await Promise.all(
        databases.map(async (db) => {
          const reply = await fetch(`${db.url}/replication/status`, {
            headers: { Authorization: `Bearer ${dbToken}` },
          })
          return (await reply.json()) as { leased: boolean; connected: boolean }
        }),
      )
      return states.every((state) => state.leased || state.connected)
    },
    { timeoutMs: 30_000 },
  )
  const publicUrl = options.publicUrl ?? url(edgeUs!)
  const selfUrls = [
    edgeUs!,
    edgeAsia!,
    globalPort!,
    ...linkPorts,
    ...regions.flatMap((r) => [places[r].lb, ...places[r].apps]),
  ].map(url)
  // Both data centers start side by side: neither waits for the other.
  const started = await Promise.all(
    regions.map(async (region) => {
      const plan = places[region]
      // One Redis per region, always private: REDIS_URL names one, not two.
      const redis = await startRedis({ port: plan.redis, redisUrl: undefined })
      const apps = await Promise.all(
        plan.apps.map((port, i) =>
          launch('app', {
            name: `app-${region}-${i + 1}`,
            region,
            port,
            publicUrl,
            selfUrls,
            monitorUrl: via(`${region} -> witness`),
            dbAddresses: addressBook(region),
            dbToken,
            dbTimeoutMs: options.dbTimeoutMs,
            maxLagMs: options.maxLagMs,
            readWaitMs: options.readWaitMs,
            topologyIntervalMs: monitorIntervalMs,
            redisUrl: redis.url,
            cache: options.cache,
            pageMaxAgeSeconds: options.pageMaxAgeSeconds,
            drainGraceMs: (fall + 2) * intervalMs,
            drainQuietMs: 2 * intervalMs,
          }),
        ),
      )
      const balancer = await launch('load-balancer', {
        name: `${region}-lb`,
        region,
        port: plan.lb,
        servers: apps.map((app) => app.url),
        rise: options.rise,
        fall,
        healthCheck: { intervalMs },
        timeoutMs: options.timeoutMs,
      })
      return {
        balancer,
        apps,
        cache: redisNode(`redis-${region}`, redis, region),
      }
    }),
  )
  const balancers = started.map((r) => r.balancer)
  const apps = started.flatMap((r) => r.apps)
  const caches = started.map((r) => r.cache)

  const global = await launch('global-balancer', {
    name: 'global-balancer',
    port: globalPort,
    regions: regions.map((region) => ({
      name: region,
      url: url(places[region].lb),
    })),
    routes: Object.fromEntries(
      regions.map((from) => [
        from,
        Object.fromEntries(
          others(from).map((to) => [to, via(`${from} -> ${to}-lb`)]),
        ),
      ]),
    ),
    preference: { asia: ['asia', 'us'], us: ['us', 'asia'] },
    defaultRegion: HOME,
    mode: options.globalMode,
    rise: options.rise,
    fall,
    healthCheck: { intervalMs },
    timeoutMs: options.timeoutMs,
  })
  const purgeToken = options.purgeToken ?? randomBytes(24).toString('base64url')
  const edge = (name: string, region: Region, port: number) =>
    launch('edge', {
      name,
      region,
      port,
      origin: global.url,
      purgeToken,
      ...options.edgeCache,
      rateLimit: options.edgeRateLimit,
    })
  const edges = await Promise.all([
    edge('edge-us', 'us', edgeUs!),
    edge('edge-asia', 'asia', edgeAsia!),
  ])

  const inRegion = (region: Region) =>
    [...balancers, ...apps, ...caches, ...databases].filter(
      (n) => n.region === region,
    )
  const nodes = [
    ...edges,
    global,
    ...inRegion('asia'),
    ...inRegion('us'),
    witness,
    wan,
  ]
  return {
    url: edges[0]!.url,
    nodes,
    adminToken,
    purgeToken,
    wanUrl: wan.url,
    close: async () => {
      await Promise.all(edges.map((node) => node.close()))
      await global.close()
      await Promise.all(balancers.map((node) => node.close()))
      await Promise.all(apps.map((node) => node.close()))
      await Promise.all(caches.map((node) => node.close()))
      await witness.close()
      await Promise.all(databases.map((node) => node.close()))
      await wan.close()
    },
  }
}
