// The monitor watches the database nodes and owns the answer to "who is the
// primary?". When the primary fails `fall` checks in a row, it promotes the
// most caught-up replica with a new epoch and points everyone else at it.
// App servers ask it for the topology. Trade-off: one monitor is itself a
// single point of failure; real systems run several that agree (Raft, etcd).
// Now a witness outside both regions: no region judges itself. It lends the
// primary a lease, renewed every few hundred ms; a primary without one takes
// no writes, and a promotion waits until the old lease has run out (plus a
// margin for clocks that drift): two primaries never take writes at once,
// even when a partition keeps the old one from hearing the news.
// Now it watches several groups, each with its own primary and epoch: every
// shard, and the analytics database. It also keeps the shard map.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createServer } from 'node:http'
import express from 'express'
import { listen, type Handle } from '../../../../shared/net'
import { metricsOfProcess } from '../../../../shared/process-stats'
import { requireToken } from './db-server'
import { HttpError, sendError } from '../common/http-error'
import type { ReplicationStatus } from './replication'
import {
  isShardMap,
  readShardMap,
  shardMapProblem,
  type ShardMap,
} from '../sharding/shard-map'
import { httpCall } from '../common/http-call'

export interface DbNode {
  name: string
  url: string
  region?: string
}

export interface DbGroup {
  name: string
  nodes: DbNode[]
  /** Watched from the start; a spare shard's group waits for /watch. */
  watched?: boolean
}

export interface MonitorOptions {
  name: string
  port?: number
  host?: string
  token: string
  /** For changes to the shard map and to which groups are watched. */
  adminToken: string
  groups: DbGroup[]
  /** The shard map as the system starts it, and where it is kept. */
  shardMap: ShardMap
  mapFile: string
  intervalMs?: number
  fall?: number
  /** How long a lease lets the primary take writes without renewing it. */
  leaseMs?: number
  /** How far apart two clocks may drift while a lease runs. */
  driftMs?: number
}

export interface Topology {
  epoch: number
  primary: DbNode
  /** The primary's newest seq when the monitor last asked. */
  headSeq: number
  replicas: (DbNode & {
    reachable: boolean
    appliedSeq: number
    lagEntries: number
    lagMs: number
  })[]
}

type Seen = DbNode & { status?: ReplicationStatus }

// One head a tick: at the default 500 ms, the last 8 minutes. A replica
// further behind than the oldest is behind by at least that long.
const HEADS_KEPT = 1000

type GroupOptions = Omit<MonitorOptions, 'groups'> & {
  group: string
  nodes: DbNode[]
}

/** One group's watch: its primary, epoch and lease. */
function watchGroup(options: GroupOptions) {
  const { token, nodes, intervalMs = 500, fall = 3 } = options
  const { leaseMs = 2000, driftMs = 500 } = options
  const headers = {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
  }
  const log = (line: string) =>
    console.log(`monitor: ${options.group}: ${line}`)
  let seen: Seen[] = nodes
  let primary = nodes[0]!
  let epoch = 1
  let failures = 0
  let headSeq = 0
  // When we first saw the primary at each head, oldest first (bounded): a
  // replica cut off from its primary knows of no newer entry and says it is
  // 0 behind. We see both sides, so we say how far behind it really is.
  const heads: { seq: number; at: number }[] = []
  // The highest epoch ever handed out, answered or not: a promotion whose
  // answer was lost may still have happened, so its epoch is never reused.
  let issued = 0
  let adopted = false
  // On our clock: the primary may write until then. A witness that has just
  // (re)started cannot know what lease it granted before: it assumes a
  // full one is still running, or it could promote a second primary.
  let leaseUntil = Date.now() + leaseMs

  const call = async (node: DbNode, path: string, body?: unknown) => {
    const reply = await httpCall(`${node.url}/replication/${path}`, {
      method: body ? 'POST' : 'GET',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(Math.max(intervalMs, 500)),
    })
    if (!reply.ok) throw new Error(`${node.name} ${path}: ${reply.status}`)
    return (await reply.json()) as ReplicationStatus
  }

  async function tick() {
    seen = await Promise.all(
      nodes.map(async (node) => ({
        ...node,
        status: await call(node, 'status').catch(() => undefined),
      })),
    )
    if (!adopted) adoptPrimary()
    // A promotion we asked for, whose answer we never got (a timeout), may
    // have happened: believe the node rather than promote another one.
    const promoted = seen.find(
      (node) =>
        node.name !== primary.name &&
        node.status?.role === 'primary' &&
        node.status.epoch > epoch,
    )
    if (promoted) {
      log(`${promoted.name} leads at epoch ${promoted.status!.epoch}: adopted`)
      primary = promoted
      failures = 0
    }
    const leader = seen.find((node) => node.name === primary.name)?.status
    failures = leader?.role === 'primary' ? 0 : failures + 1
    // The last head we saw stays our best guess while the primary is away.
    if (leader?.role === 'primary') headSeq = leader.appliedSeq
    // A promoted replica may lack the old primary's newest entries: those
    // heads are gone, and the seqs after its own are new entries.
    while ((heads.at(-1)?.seq ?? 0) > headSeq) heads.pop()
    if (headSeq > (heads.at(-1)?.seq ?? 0)) {
      heads.push({ seq: headSeq, at: Date.now() })
      if (heads.length > HEADS_KEPT) heads.shift()
    }
    for (const node of seen) epoch = Math.max(epoch, node.status?.epoch ?? 0)
    // Down, and its lease run out for sure: only now may another lead.
    if (failures >= fall && Date.now() > leaseUntil + driftMs) await failover()
    await repoint()
  }

  // A monitor that (re)starts believes the nodes, not its own defaults.
  function adoptPrimary() {
    const claims = seen.filter((node) => node.status?.role === 'primary')
    const newest = claims.sort((a, b) => b.status!.epoch - a.status!.epoch)[0]
    if (newest) primary = newest
    adopted = newest !== undefined
  }

  async function failover() {
    const candidates = seen
      .filter((node) => node.name !== primary.name && node.status)
      .sort((a, b) => b.status!.appliedSeq - a.status!.appliedSeq)
    const chosen = candidates[0]
    if (!chosen)
      return log(`${primary.name} is down and no replica is reachable`)
    const next = Math.max(epoch, issued) + 1
    issued = next
    await call(chosen, 'promote', { epoch: next })
    log(
      `${primary.name} failed ${failures} checks: promoted ${chosen.name} at seq ${chosen.status!.appliedSeq} (epoch ${next})`,
    )
    epoch = next
    primary = chosen
    failures = 0
    leaseUntil = 0 // the new primary asks for its own
  }

  // Every other reachable node follows the primary, at the current epoch:
  // this also demotes an old primary that comes back (fencing).
  async function repoint() {
    for (const node of seen) {
      const status = node.status
      if (!status || node.name === primary.name) continue
      if (
        status.role === 'replica' &&
        status.primary === primary.name &&
        status.epoch === epoch
      )
        continue
      // By name: each node reaches the primary by its own way (the WAN).
      const followed = await call(node, 'follow', {
        primary: primary.name,
        primaryUrl: primary.url,
        epoch,
      }).catch(() => undefined)
      if (followed)
        log(`${node.name} now follows ${primary.name} (epoch ${epoch})`)
    }
  }

  // The replica's own figures, or ours when they say more: it lacks every
  // head we saw that it has not applied, since the first of them.
  function lagOf(status: ReplicationStatus | undefined) {
    const applied = status?.appliedSeq ?? 0
    const missing = heads.find((head) => head.seq > applied)
    return {
      lagEntries: Math.max(status?.lagEntries ?? 0, headSeq - applied),
      lagMs: Math.max(
        status?.lagMs ?? 0,
        missing ? Date.now() - missing.at : 0,
      ),
    }
  }

  function topology(): Topology {
    const replicas = seen
      .filter((node) => node.name !== primary.name)
      .map(({ name, url, region, status }) => ({
        name,
        url,
        region,
        reachable: status !== undefined && status.role === 'replica',
        appliedSeq: status?.appliedSeq ?? 0,
        ...lagOf(status),
      }))
    return {
      epoch,
      primary: { name: primary.name, url: primary.url, region: primary.region },
      headSeq,
      replicas,
    }
  }

  let running = true
  const loop = (async () => {
    while (running) {
      await tick().catch((error: unknown) =>
        log(`check failed: ${(error as Error).message}`),
      )
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()

  return {
    nodes,
    topology(): Topology {
      if (!adopted)
        throw new HttpError(503, 'not_ready', 'No primary found yet')
      return topology()
    },
    // The primary renews its lease here, counting from before it asked; we
    // count from when we answered, so its lease always ends before ours.
    lease(name: unknown, claimed: unknown) {
      if (name !== primary.name || claimed !== epoch)
        throw new HttpError(
          409,
          'not_primary',
          `${primary.name} leads at epoch ${epoch}`,
        )
      leaseUntil = Date.now() + leaseMs
      return { leaseMs }
    },
    async close() {
      running = false
      await loop
    },
  }
}

export async function startMonitor(options: MonitorOptions): Promise<Handle> {
  const { token, adminToken, mapFile } = options
  const watching = new Map<string, ReturnType<typeof watchGroup>>()
  const watch = (group: DbGroup) => {
    if (!watching.has(group.name))
      watching.set(
        group.name,
        watchGroup({ ...options, group: group.name, nodes: group.nodes }),
      )
  }

  const groupOf = (name: string) => {
    const group = options.groups.find((g) => g.name === name)
    if (!group) throw new HttpError(404, 'no_such_group', `No group ${name}`)
    return group
  }
  // The shard map survives a restart of the witness: it is kept on disk.
  let shardMap = readShardMap(mapFile) ?? options.shardMap
  const saveMap = (map: ShardMap) => {
    mkdirSync(dirname(mapFile), { recursive: true })
    writeFileSync(`${mapFile}.tmp`, JSON.stringify(map, null, 2))
    renameSync(`${mapFile}.tmp`, mapFile)
    shardMap = map
  }
  saveMap(shardMap)
  // The groups asked for, and every shard the map names (a restarted
  // witness must not forget a shard added since the system started).
  const named = new Set(
    [...shardMap.shards, ...(shardMap.previous ?? [])].map((s) => s.name),
  )
  for (const group of options.groups)
    if (group.watched !== false || named.has(group.name)) watch(group)

  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (req, res) => {
    res.json({ status: 'ok', node: options.name })
  })
  app.get('/metrics', (req, res) => {
    res.json({
      node: options.name,
      process: metricsOfProcess(req.socket.localPort),
    })
  })
  app.get('/groups/:group/topology', requireToken(token), (req, res) => {
    const watched = watching.get(String(req.params.group))
    if (!watched) throw new HttpError(404, 'not_watched', 'Not watched')
    res.json(watched.topology())
  })
  app.post('/lease', requireToken(token), express.json(), (req, res) => {
    const { name, epoch } = req.body ?? {}
    const group = [...watching.values()].find((g) =>
      g.nodes.some((node) => node.name === name),
    )
    if (!group) throw new HttpError(409, 'not_primary', 'Not a watched node')
    res.json(group.lease(name, epoch))
  })
  app.get('/shard-map', requireToken(token), (req, res) => {
    res.json(shardMap)
  })
  // Only newer maps: two writers cannot go back and forth.
  app.put(
    '/shard-map',
    requireToken(adminToken),
    express.json(),
    (req, res) => {
      const map: unknown = req.body
      if (!isShardMap(map))
        throw new HttpError(
          400,
          'invalid_shard_map',
          `Not a shard map: ${shardMapProblem(map)}`,
        )
      if (map.epoch <= shardMap.epoch)
        throw new HttpError(
          409,
          'stale_shard_map',
          `The map is at epoch ${shardMap.epoch} already`,
        )
      saveMap(map)
      res.json(shardMap)
    },
  )
  app.post(
    '/groups/:group/:action',
    requireToken(adminToken),
    async (req, res) => {
      const group = groupOf(String(req.params.group))
      if (req.params.action === 'watch') watch(group)
      else if (req.params.action === 'unwatch') {
        await watching.get(group.name)?.close()
        watching.delete(group.name)
      } else throw new HttpError(404, 'not_found', 'watch or unwatch')
      res.json({ group: group.name, watched: watching.has(group.name) })
    },
  )
  app.use(sendError)
  const server = await listen(createServer(app), options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await Promise.all([...watching.values()].map((group) => group.close()))
      await server.close()
    },
  }
}
