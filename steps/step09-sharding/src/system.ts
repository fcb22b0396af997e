// The whole system of this step, as its diagram reads:
//
//   US client ───▶ edge-us ───┐                  ┌─▶ asia: asia-lb ─▶ app-asia-1..2 ─┐
//                             ├─▶ global-balancer┤                                   │ each link's
//   Asia client ─▶ edge-asia ─┘                  └─▶ us:   us-lb ─▶ app-us-1..2 ───┤ owner shard
//                                                                                    ▼
//   shard-1: db-s1-asia (primary) ─▶ db-s1-us (replica)    the shard map and every
//   shard-2: db-s2-asia (primary) ─▶ db-s2-us (replica)    group's primary: the witness
//   shard-3: db-s3-asia (primary) ─▶ db-s3-us (replica)
//   analytics: db-analytics (clicks) ◀─ click-analytics ◀─ queues in redis-asia
//   notifications, audit-log, redis-asia, redis-us, wan: as in step 8
//
// Step 8's two regions, with the links spread over shards (3 by default, up
// to 5): a consistent-hash ring of the code says which shard owns a link;
// the witness keeps the ring (the shard map) and each shard's primary. The
// clicks moved to a database of their own (a vertical split). Processes, by
// default: 2 edges, the global balancer, 2 balancers, 4 app servers, 2
// Redis, 6 shard nodes, the analytics database, 3 workers, the witness and
// the WAN: 23; each shard added brings 2 more. Tests launch it in-process;
// `npm start` launches every node as a process.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LOOPBACK, freePort } from '../../../shared/net'
import { redisNode, startRedis } from '../../../shared/redis'
import { GiveUp, delay, waitFor } from '../../../shared/wait-for'
import {
  inProcess,
  type Launch,
  type RunningNode,
} from '../../../shared/launcher'
import type { RateLimitOptions } from './balancer/rate-limit'
import type { Mode } from './region/global-policy'
import { roles } from './roles'
import { createDbClient, DbError, type Params } from './database/db-client'
import {
  DEFAULT_VNODES,
  firstShardMap,
  readShardMap,
  routerFor,
  type Scheme,
  type ShardMap,
} from './sharding/shard-map'

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
  /** How soon the jobs of a worker that died go back to its queue. */
  stalledIntervalMs?: number
  /** Events each app server holds while the queues are out of reach. */
  maxBufferedEvents?: number
  /** How many shards a new system starts with (1 to 5; 3 by default). A
   * system that ran before starts with the shards its saved map names. */
  shards?: number
  /** 'ring' (consistent hashing) or 'range' (by the code's first
   * character), for a new system. */
  scheme?: Scheme
  /** Points per shard on the ring. */
  vnodes?: number
  /** Resharding copies this many links per statement, and rests this long
   * between two (a throttle, as real tools have, that leaves the primaries
   * time for the clients while a move goes on). */
  reshardPageSize?: number
  reshardPauseMs?: number
  /** How often app servers read the shard map; between two reads, a node
   * that knows a newer map refuses theirs, and they read it at once. */
  shardMapIntervalMs?: number
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
  /** The witness's own address (the shard map, each group's topology). */
  witnessUrl: string
  /** The shard map as the witness keeps it. */
  shardMap(): Promise<ShardMap>
  /** Adds a shard (or removes the last one) while the system serves. */
  reshard(
    action: 'add' | 'remove',
    progress?: (line: string) => void,
    throttle?: Throttle,
  ): Promise<ReshardReport>
  /** What `npm start`'s control offers: npm run reshard -- step09 add. */
  actions: Record<string, (progress: (line: string) => void) => Promise<object>>
  close(): Promise<void>
}

/** How fast a move copies: links per statement, and a rest after reading
 * each page, before writing it. */
export interface Throttle {
  pageSize: number
  pauseMs: number
}

export interface ReshardReport {
  action: 'add' | 'remove'
  shard: string
  epoch: number
  /** Links that changed owner, of all links there were. */
  moved: number
  total: number
  tookMs: number
}

export const MAX_SHARDS = 5

// The data centers, by port offset from the front door. asia is home.
// Each shard k has a node in each region, at 8 + 2k (asia) and 9 + 2k (us).
const REGIONS = {
  asia: { lb: 50, apps: [1, 2], redis: 30 },
  us: { lb: 55, apps: [3, 4], redis: 31 },
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

  // Every address first: the WAN's links lead to them. Every shard that may
  // ever join has its addresses from the start (ports are cheap).
  const place = async (region: Region) => {
    const plan = REGIONS[region]
    return {
      region,
      lb: await at(plan.lb),
      apps: await Promise.all(plan.apps.map(at)),
      redis: await at(plan.redis),
    }
  }
  const places = { asia: await place('asia'), us: await place('us') }
  const shardNames = Array.from(
    { length: MAX_SHARDS },
    (_, i) => `shard-${i + 1}`,
  )
  // A bad shards, scheme or vnodes option fails here, before any process.
  const newMap = firstShardMap(shardNames, options)
  const dbs: DbPlace[] = [
    ...(await Promise.all(
      shardNames.flatMap((group, i) =>
        regions.map(async (region, r) => ({
          name: `db-s${i + 1}-${region}`,
          group,
          region,
          port: await at(10 + 2 * i + r),
        })),
      ),
    )),
    {
      name: 'db-analytics',
      group: 'analytics',
      region: HOME,
      port: await at(20),
    },
  ]
  const [edgeUs, edgeAsia, globalPort, witnessPort, wanPort] =
    await Promise.all([0, 40, 45, 21, 60].map(at))

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
    ...others(HOME).map((from) => ({
      name: `${from} -> redis-${HOME}`,
      target: url(places[HOME].redis),
      delayMs: wanMs,
    })),
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

  // The shard map: the one a system that ran before saved, or a new one.
  const mapFile = join(options.dataDir, 'shard-map.json')
  const saved = readShardMap(mapFile)
  const firstMap: ShardMap = saved ?? newMap
  const groupsIn = (map: ShardMap) => [
    ...new Set([...map.shards, ...(map.previous ?? [])].map((s) => s.name)),
  ]

  // A group's nodes: the primary in the home region, a replica elsewhere.
  const databases: RunningNode[] = []
  const startGroup = async (group: string) => {
    const members = dbs.filter((db) => db.group === group)
    const primary = members.find((db) => db.region === HOME)!
    const started = await Promise.all(
      members.map((db) => {
        const book = addressBook(db.region)
        return launch('database', {
          name: db.name,
          region: db.region,
          shard: group === 'analytics' ? undefined : group,
          port: db.port,
          dataFile: join(options.dataDir, `${db.name}.db`),
          token: dbToken,
          adminToken,
          replication: {
            role: db === primary ? 'primary' : 'replica',
            primaryUrl: book[primary.name],
            peers: members
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
    databases.push(...started)
    return started
  }
  const running = [...groupsIn(firstMap), 'analytics']
  await Promise.all(running.map(startGroup))

  // The witness last: it must find each primary up, or it would replace it.
  const witness = await launch('monitor', {
    name: 'witness',
    port: witnessPort,
    token: dbToken,
    adminToken,
    groups: [...shardNames, 'analytics'].map((group) => ({
      name: group,
      watched: running.includes(group),
      nodes: dbs
        .filter((db) => db.group === group)
        .map((db) => ({
          name: db.name,
          region: db.region,
          url: via(`witness -> ${db.name}`),
        })),
    })),
    shardMap: firstMap,
    mapFile,
    intervalMs: monitorIntervalMs,
    fall: options.monitorFall,
    leaseMs: options.leaseMs,
    driftMs: options.driftMs,
  })
  const dbHeaders = {
    Authorization: `Bearer ${dbToken}`,
    'Content-Type': 'application/json',
  }
  // Writes can start once each primary holds its first lease, and every
  // replica has heard from it: semi-sync must not start out alone.
  const ready = (nodes: RunningNode[]) =>
    waitFor(
      'each primary to hold its lease, and every replica to follow it',
      async () => {
        const states = await Promise.all(
          nodes.map(async (db) => {
            const reply = await fetch(`${db.url}/replication/status`, {
              headers: dbHeaders,
            })
            return (await reply.json()) as {
              leased: boolean
              connected: boolean
            }
          }),
        )
        return states.every((state) => state.leased || state.connected)
      },
      { timeoutMs: 30_000 },
    )
  await ready(databases)
  // Every shard node learns the map's epoch: older maps are refused. A node
  // that does not take it would serve an old map's writes: say which.
  const announce = async (epoch: number) => {
    const silent = await Promise.all(
      databases
        .filter((db) => db.shard)
        .map(async (db) => {
          const reply = await fetch(`${db.url}/shard-epoch`, {
            method: 'POST',
            headers: dbHeaders,
            body: JSON.stringify({ epoch }),
          }).catch(() => undefined)
          return reply?.ok ? [] : [db.name]
        }),
    )
    if (silent.flat().length > 0)
      throw new Error(
        `${silent.flat().join(', ')} did not take epoch ${epoch}: a move needs every shard node up`,
      )
  }
  await announce(firstMap.epoch)

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
      // The home region's also holds the queues: kept on disk.
      const redis = await startRedis({
        port: plan.redis,
        redisUrl: undefined,
        appendOnlyDir:
          region === HOME
            ? join(options.dataDir, `redis-${region}`)
            : undefined,
      })
      const queueRedisUrl =
        region === HOME
          ? redis.url
          : via(`${region} -> redis-${HOME}`).replace('http:', 'redis:')
      const apps = await Promise.all(
        plan.apps.map((port, i) =>
          launch('app', {
            name: `app-${region}-${i + 1}`,
            region,
            port,
            publicUrl,
            selfUrls,
            witnessUrl: via(`${region} -> witness`),
            dbAddresses: addressBook(region),
            dbToken,
            dbTimeoutMs: options.dbTimeoutMs,
            maxLagMs: options.maxLagMs,
            readWaitMs: options.readWaitMs,
            topologyIntervalMs: monitorIntervalMs,
            shardMapIntervalMs: options.shardMapIntervalMs,
            redisUrl: redis.url,
            queueRedisUrl,
            maxBufferedEvents: options.maxBufferedEvents,
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

  // The workers, beside the queues in the home region.
  const queueRedis = caches.find((c) => c.region === HOME)!.url
  const workers = await Promise.all(
    (['click-analytics', 'notifications', 'audit-log'] as const).map(
      async (kind, i) =>
        launch('worker', {
          name: kind,
          region: HOME,
          port: await at(90 + i),
          kind,
          redisUrl: queueRedis,
          dataDir: options.dataDir,
          publicUrl,
          adminToken,
          db: {
            monitorUrl: `${via(`${HOME} -> witness`)}/groups/analytics`,
            token: dbToken,
            region: HOME,
            addresses: addressBook(HOME),
          },
          stalledIntervalMs: options.stalledIntervalMs,
          supervised: true,
        }),
    ),
  )

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

  // Database nodes in the diagram's order, however fast each one started.
  const byPlace = (a: RunningNode, b: RunningNode) =>
    dbs.findIndex((db) => db.name === a.name) -
    dbs.findIndex((db) => db.name === b.name)
  const inRegion = (region: Region) =>
    [
      ...balancers,
      ...apps,
      ...caches,
      ...[...databases].sort(byPlace),
      ...workers,
    ].filter((n) => n.region === region)
  // One list, kept up to date as shards come and go: `npm start` shows it.
  const nodes: RunningNode[] = []
  const listNodes = () =>
    nodes.splice(
      0,
      nodes.length,
      ...edges,
      global,
      ...inRegion('asia'),
      ...inRegion('us'),
      witness,
      wan,
    )
  listNodes()

  const adminHeaders = {
    Authorization: `Bearer ${adminToken}`,
    'Content-Type': 'application/json',
  }
  const shardMap = async () => {
    const reply = await fetch(`${witness.url}/shard-map`, {
      headers: dbHeaders,
    })
    return (await reply.json()) as ShardMap
  }
  const putMap = async (map: ShardMap) => {
    const reply = await fetch(`${witness.url}/shard-map`, {
      method: 'PUT',
      headers: adminHeaders,
      body: JSON.stringify(map),
    })
    if (!reply.ok)
      throw new Error(`the witness refused the map: ${reply.status}`)
  }
  const watchGroup = (group: string, action: 'watch' | 'unwatch') =>
    fetch(`${witness.url}/groups/${group}/${action}`, {
      method: 'POST',
      headers: adminHeaders,
    })
  // A shard's nodes stopped and out of the diagram (its files stay).
  const stopGroup = async (group: string) => {
    const gone = databases.filter((db) => db.shard === group)
    await watchGroup(group, 'unwatch')
    await Promise.all(gone.map((db) => db.close()))
    databases.splice(
      0,
      databases.length,
      ...databases.filter((db) => !gone.includes(db)),
    )
    listNodes()
    return gone.map((db) => db.name)
  }
  // The operator's line to a group's primary, as the witness sees it now.
  const primaryOf = async (group: string, epoch: number) => {
    const reply = await fetch(`${witness.url}/groups/${group}/topology`, {
      headers: dbHeaders,
    })
    const topology = (await reply.json()) as {
      epoch: number
      primary: { name: string }
    }
    const node = databases.find((db) => db.name === topology.primary.name)!
    return createDbClient({
      url: node.url,
      token: dbToken,
      timeoutMs: 5000,
      headers: {
        'X-Epoch': String(topology.epoch),
        'X-Shard-Epoch': String(epoch),
      },
    })
  }

  // Every write of a move is idempotent (INSERT OR IGNORE, an UPDATE to what
  // is already set, a DELETE), so a primary that is briefly away (a lease
  // renewed late on a busy machine, a failover) is waited out and the
  // statement sent again, rather than the move given up half way. What the
  // database refuses (a 4xx) will not change: that stops at once.
  const writeOnPrimary = (
    group: string,
    epoch: number,
    sql: string,
    params: Params,
  ) =>
    waitFor(
      `${group}'s primary to take a write of the move`,
      async () => {
        const db = await primaryOf(group, epoch)
        try {
          await db.execute(sql, params)
          return true
        } catch (error: unknown) {
          if (error instanceof DbError && error.status < 500)
            throw new GiveUp(error.message)
          throw error
        } finally {
          db.close()
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    )

  // Resharding online. 1: the new map goes out with the old one beside it
  // (`previous`), and every shard node learns its epoch before a key moves:
  // from then on no app server writes with the old map. 2: every row whose
  // owner changed is copied to its new owner, page by page (INSERT OR
  // IGNORE: a link created there meanwhile stays). 3: deletes that raced the
  // copy are carried over. 4: cut-over, the map without `previous`. 5: the
  // old copies are removed: a clean-up, not a deletion.
  let moving = false
  async function reshard(
    action: 'add' | 'remove',
    progress: (line: string) => void = () => {},
    { pageSize, pauseMs }: Throttle = {
      pageSize: options.reshardPageSize ?? PAGE,
      pauseMs: options.reshardPauseMs ?? 0,
    },
  ): Promise<ReshardReport> {
    if (moving) throw new Error('A move is already under way')
    moving = true
    try {
      const started = performance.now()
      const before = await shardMap()
      if (before.previous)
        throw new Error(
          `A move was left half done at epoch ${before.epoch}: restore the map or finish it by hand`,
        )
      // Every node up before anything changes (this epoch, once more).
      await announce(before.epoch)
      const inMap = new Set(before.shards.map((shard) => shard.name))
      let shard: string
      let after: ShardMap['shards']
      if (action === 'add') {
        const free = shardNames.find((name) => !inMap.has(name))
        if (!free) throw new Error(`At most ${MAX_SHARDS} shards`)
        shard = free
        progress(
          `starting ${shard}: ${dbs
            .filter((db) => db.group === shard)
            .map((db) => db.name)
            .join(', ')}`,
        )
        await watchGroup(shard, 'watch')
        await ready(await startGroup(shard))
        listNodes()
        const vnodes = before.shards[0]?.vnodes ?? DEFAULT_VNODES
        after = [...before.shards, { name: shard, vnodes }]
      } else {
        if (before.shards.length === 1)
          throw new Error('The last shard cannot be removed')
        shard = before.shards.at(-1)!.name
        after = before.shards.slice(0, -1)
      }
      const during: ShardMap = {
        ...before,
        epoch: before.epoch + 1,
        shards: after,
        previous: before.shards,
      }
      // The map first, then the nodes: an app server refused for its old
      // map must find the new one at the witness. Nothing has moved yet: a
      // node that fails now calls the move off (the old shards, a newer
      // epoch) rather than leave it half begun.
      await putMap(during)
      try {
        await announce(during.epoch)
      } catch (error: unknown) {
        const back = {
          epoch: during.epoch + 1,
          scheme: before.scheme,
          shards: before.shards,
        }
        await putMap(back)
        await announce(back.epoch).catch(() => {})
        if (action === 'add') await stopGroup(shard)
        throw error
      }
      progress(
        `epoch ${during.epoch}: ${after.map((s) => s.name).join(', ')} (moving from ${before.shards.map((s) => s.name).join(', ')})`,
      )

      const router = routerFor(during)
      const moved = new Map<string, { from: string; to: string }>()
      let total = 0
      for (const { name: from } of before.shards) {
        const source = await primaryOf(from, during.epoch)
        let read = 0
        let copied = 0
        try {
          for (let last = ''; ;) {
            const rows = await source.query<
              Record<string, string | number | null>
            >(SQL_PAGE, [last, pageSize])
            if (rows.length === 0) break
            last = String(rows.at(-1)!.code)
            total += rows.length
            read += rows.length
            const byOwner = new Map<string, typeof rows>()
            for (const row of rows) {
              const to = router.owner(String(row.code))
              if (to === from) continue
              moved.set(String(row.code), { from, to })
              copied++
              byOwner.set(to, [...(byOwner.get(to) ?? []), row])
            }
            progress(`${from}: ${read} links read, ${copied} of them move`)
            // The throttle, between the read and the write: a delete that
            // lands meanwhile is carried over below.
            await delay(pauseMs)
            for (const [to, list] of byOwner) {
              await writeOnPrimary(
                to,
                during.epoch,
                copySql(list.length),
                list.flatMap((row) =>
                  COLUMNS.map((column) => row[column] ?? null),
                ),
              )
            }
          }
        } finally {
          source.close()
        }
      }

      // Deletes that reached the old copy after it was read.
      const groups = (pick: 'from' | 'to') => {
        const by = new Map<string, string[]>()
        for (const [code, move] of moved)
          by.set(move[pick], [...(by.get(move[pick]) ?? []), code])
        return by
      }
      for (const [from, codes] of groups('from')) {
        const source = await primaryOf(from, during.epoch)
        try {
          for (let i = 0; i < codes.length; i += PAGE) {
            const some = codes.slice(i, i + PAGE)
            const deleted = await source.query<{
              code: string
              deleted_at: number
            }>(
              `SELECT code, deleted_at FROM links WHERE deleted_at IS NOT NULL AND code IN (${marks(some.length)})`,
              some,
            )
            for (const row of deleted) {
              await writeOnPrimary(
                moved.get(row.code)!.to,
                during.epoch,
                'UPDATE links SET deleted_at = ? WHERE code = ? AND deleted_at IS NULL',
                [row.deleted_at, row.code],
              )
            }
          }
        } finally {
          source.close()
        }
      }

      const cutOver: ShardMap = {
        epoch: during.epoch + 1,
        scheme: during.scheme,
        shards: after,
      }
      await putMap(cutOver)
      await announce(cutOver.epoch)
      progress(
        `epoch ${cutOver.epoch}: cut over to ${after.map((s) => s.name).join(', ')}`,
      )

      for (const [from, codes] of groups('from')) {
        for (let i = 0; i < codes.length; i += PAGE) {
          const some = codes.slice(i, i + PAGE)
          await writeOnPrimary(
            from,
            cutOver.epoch,
            `DELETE FROM links WHERE code IN (${marks(some.length)})`,
            some,
          )
        }
      }
      progress(`removed ${moved.size} old copies`)

      if (action === 'remove') {
        progress(`stopped ${(await stopGroup(shard)).join(', ')}`)
      }
      return {
        action,
        shard,
        epoch: cutOver.epoch,
        moved: moved.size,
        total,
        tookMs: Math.round(performance.now() - started),
      }
    } finally {
      moving = false
    }
  }

  return {
    url: edges[0]!.url,
    nodes,
    adminToken,
    purgeToken,
    wanUrl: wan.url,
    witnessUrl: witness.url,
    shardMap,
    reshard,
    actions: {
      'reshard-add': (progress) => reshard('add', progress),
      'reshard-remove': (progress) => reshard('remove', progress),
    },
    close: async () => {
      await Promise.all(edges.map((node) => node.close()))
      await global.close()
      await Promise.all(balancers.map((node) => node.close()))
      await Promise.all(apps.map((node) => node.close()))
      await Promise.all(workers.map((node) => node.close()))
      await Promise.all(caches.map((node) => node.close()))
      await witness.close()
      await Promise.all(databases.map((node) => node.close()))
      await wan.close()
    },
  }
}

interface DbPlace {
  name: string
  /** shard-1 .. shard-5, or analytics. */
  group: string
  region: Region
  port: number
}

// Copying moves whole rows, a page at a time, in statements of their own:
// the caches follow inserts and deletes in the log, and take no notice.
const PAGE = 500
const COLUMNS = [
  'code',
  'url',
  'created_at',
  'expires_at',
  'delete_token_hash',
  'deleted_at',
  'clicks',
]
const SQL_PAGE = 'SELECT * FROM links WHERE code > ? ORDER BY code LIMIT ?'
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ')
const copySql = (rows: number) =>
  `INSERT OR IGNORE INTO links (${COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => `(${marks(COLUMNS.length)})`).join(', ')}`
