// Once a second: what every node is doing. Rates come from each process's
// own report (RunningNode.stats: answers, CPU, latency histogram), the
// step's facts from the node's /metrics (cache hits, replication role and
// lag, queue depth), and the balancers' view of the servers behind them
// from theirs, so every step is drawn the same way, with what it has.
import { Agent, get } from 'node:http'
import type { RunningNode } from '../launcher'
import { percentile, type ProcessStats } from '../process-stats'
import type { Topology } from '../topology'
import { progressLine, type Burst } from './burst'

export interface NodeSample {
  name: string
  /** Draining: an app server finishing its requests before it stops. */
  state: 'up' | 'down' | 'draining'
  pid: number
  /** Answers per second over the last sample, monitoring excluded. */
  rps?: number
  /** The bucket bound under which 99% of the last second's answers fell. */
  p99?: number
  /** Share of one core over the last sample, in percent. */
  cpu?: number
  rssMb?: number
  /** Short readable facts from the node's /metrics: "primary", "hits 92%". */
  facts: string[]
  /** What each balancer that sends to this node thinks of it: the process
   * may be dead while a balancer still sends to it, until its checks fail. */
  pools?: PoolView[]
}

/** One balancer's view of one of its servers, from its /_lb/metrics. */
export interface PoolView {
  /** The balancer's name. */
  by: string
  /** Down: ejected, the balancer sends it nothing. */
  state: 'up' | 'down'
  /** Health checks in a row that passed, or that failed. */
  passedChecks: number
  failedChecks: number
  /** Requests sent to it that failed, since the balancer started (a GET
   * then went to the next server). */
  failedAttempts: number
}

export interface Sample {
  at: number
  topology: Pick<Topology, 'step' | 'frontDoor' | 'nodes' | 'links'>
  nodes: NodeSample[]
  /** The front door's last minute, one point a second. */
  series?: { at: number; rps: number; p99: number | null }[]
  /** The running or last burst, in the words the page shows. */
  burst?: ReturnType<Burst['progress']> & { line: string }
}

type Counters = Record<string, number>
interface Metrics {
  counters?: Counters
  /** A balancer's servers (/_lb/metrics). */
  servers?: ({ url: string } & Omit<PoolView, 'by'>)[]
  replication?: {
    role?: string
    lagEntries?: number
    lagMs?: number
    /** A replica that heard from its primary lately (steps 7-9). */
    connected?: boolean
    leased?: boolean
  }
  queues?: Record<
    string,
    { waiting?: number; oldestWaitingMs?: number; dead?: number }
  >
}

const METRICS_PATH: Record<string, string> = {
  app: '/metrics',
  database: '/metrics',
  worker: '/metrics',
  edge: '/_edge/metrics',
  balancer: '/_lb/metrics',
  global: '/_lb/metrics',
}

const ratio = (hits: number, all: number) =>
  all === 0 ? undefined : `${Math.round((100 * hits) / all)}%`

/** What a node's /metrics says, in a few words. */
export function factsOf(tier: string, metrics: Metrics): string[] {
  const counters = metrics.counters ?? {}
  const facts: string[] = []
  if (tier === 'app') {
    // Per layer: this server's memory (L1), the shared Redis (L2), misses.
    const l1 = counters['cache.hit-l1'] ?? 0
    const l2 = counters['cache.hit-l2'] ?? 0
    const looked = l1 + l2 + (counters['cache.miss'] ?? 0)
    if (looked > 0)
      facts.push(
        `cache hits ${ratio(l1 + l2, looked)} (L1 ${ratio(l1, looked)}, L2 ${ratio(l2, looked)})`,
      )
    if (counters['links.redirects'])
      facts.push(`redirects ${counters['links.redirects']}`)
  }
  if (tier === 'edge') {
    const hits = (counters['edge.hit'] ?? 0) + (counters['edge.stale'] ?? 0)
    const looked =
      hits + (counters['edge.miss'] ?? 0) + (counters['edge.revalidated'] ?? 0)
    const served = ratio(hits, looked)
    if (served) facts.push(`edge hits ${served}`)
  }
  if (metrics.replication?.role) {
    const { role, lagEntries, lagMs, leased, connected } = metrics.replication
    // A primary without its lease refuses writes: fenced off, until the
    // monitor says who leads.
    facts.push(
      role === 'primary' && leased === false
        ? 'primary, fenced (no lease)'
        : role,
    )
    if (role !== 'primary' && lagEntries !== undefined)
      facts.push(`lag ${lagEntries} entries, ${lagMs ?? 0} ms`)
    // Its own lag counts only what it has heard of: cut off, it says 0.
    if (role === 'replica' && connected === false)
      facts.push('no word from its primary (5 s)')
  }
  if (metrics.servers?.length) {
    const up = metrics.servers.filter((s) => s.state === 'up').length
    facts.push(`${up} of ${metrics.servers.length} servers in the pool`)
  }
  for (const [queue, figures] of Object.entries(metrics.queues ?? {})) {
    facts.push(
      `${queue}: ${figures.waiting ?? 0} waiting, oldest ${figures.oldestWaitingMs ?? 0} ms`,
    )
    if (figures.dead) facts.push(`${queue}: ${figures.dead} dead letters`)
  }
  return facts
}

// The scrapes go over node:http with kept-alive connections: a dozen a
// second cost the launcher a third of what fetch() costs. An idle
// connection is closed after 2 s, long before a node's server closes it
// (shared/net.ts: 65 s), so no scrape goes out on a closing socket.
const agent = new Agent({ keepAlive: true, maxSockets: 4, timeout: 2000 })

/** A node's JSON answer, or undefined: no answer within 800 ms, not JSON,
 * or (unless `anyStatus`) not a 2xx. */
function metricsOf(
  url: string,
  anyStatus = false,
): Promise<(Metrics & { status?: string }) | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { agent, timeout: 800 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      // Cut off mid-answer: nothing (a resolved promise ignores the rest).
      res.on('error', () => resolve(undefined))
      res.on('close', () => resolve(undefined))
      res.on('end', () => {
        const ok = res.statusCode! >= 200 && res.statusCode! < 300
        try {
          resolve(ok || anyStatus ? (JSON.parse(text) as Metrics) : undefined)
        } catch {
          resolve(undefined)
        }
      })
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

/** Each balancer's view of its servers, by the server's address. */
export function poolsOf(
  balancers: { name: string; metrics: Metrics | undefined }[],
): Map<string, PoolView[]> {
  const pools = new Map<string, PoolView[]>()
  for (const { name, metrics } of balancers)
    for (const {
      url,
      state,
      passedChecks,
      failedChecks,
      failedAttempts,
    } of metrics?.servers ?? []) {
      const view = {
        by: name,
        state,
        passedChecks,
        failedChecks,
        failedAttempts,
      }
      pools.set(url, [...(pools.get(url) ?? []), view])
    }
  return pools
}

/** What the page may see of the topology: no tokens, no paths. */
export function drawable(topology: Topology): Sample['topology'] {
  const { step, frontDoor, nodes, links } = topology
  return { step, frontDoor, nodes, links }
}

async function rowsPerShard(
  frontDoor: string,
): Promise<Record<string, number> | undefined> {
  const stats = (await metricsOf(`${frontDoor}/api/stats`)) as
    { perShard?: Record<string, number> } | undefined
  return stats?.perShard
}

export function createSampler(
  nodes: RunningNode[],
  topology: () => Topology,
  intervalMs = 1000,
) {
  type Rates = Pick<NodeSample, 'rps' | 'p99' | 'cpu' | 'rssMb'>
  const previous = new Map<string, { stats: ProcessStats; rates: Rates }>()
  const series: NonNullable<Sample['series']> = []
  const listeners = new Set<(sample: Sample) => void>()
  // Pages that have had no frame yet: theirs carries the whole minute.
  const newcomers = new Set<(sample: Sample) => void>()
  let burst: Burst | undefined
  let latest: Sample | undefined
  let wake: (() => void) | undefined
  let rows: Record<string, number> | undefined
  let ticks = 0

  // Rates over the interval between a process's own last two reports, so
  // that every node's second is its own, whenever the sampler looks.
  function rates(node: RunningNode): Rates {
    const stats = node.stats
    const before = previous.get(node.name)
    if (!stats) return (previous.delete(node.name), {})
    if (before && stats.at === before.stats.at) return before.rates
    let rates: Rates = { rssMb: stats.rssMb }
    // A restarted process starts its counts over: no rate for that second.
    if (before && stats.requests >= before.stats.requests) {
      const seconds = (stats.at - before.stats.at) / 1000
      const latency = stats.latency.map(
        (n, i) => n - (before.stats.latency[i] ?? 0),
      )
      const p99 = percentile(latency, 0.99)
      rates = {
        rps: Math.round((stats.requests - before.stats.requests) / seconds),
        p99: p99 === Number.POSITIVE_INFINITY ? 10_000 : p99,
        cpu: Math.round((stats.cpuMs - before.stats.cpuMs) / seconds / 10),
        rssMb: stats.rssMb,
      }
    }
    previous.set(node.name, { stats, rates })
    return rates
  }

  async function sample(): Promise<Sample> {
    const at = Date.now()
    const current = topology()
    const scraped = await Promise.all(
      current.nodes.map(async (described) => {
        const node = nodes.find((n) => n.name === described.name)
        const up = node?.alive ?? false
        const path = METRICS_PATH[described.tier]
        const [metrics, health] = await Promise.all([
          up && path && described.url.startsWith('http')
            ? metricsOf(`${described.url}${path}`)
            : undefined,
          up && described.tier === 'app'
            ? metricsOf(`${described.url}/healthz`, true)
            : undefined,
        ])
        return { described, node, up, metrics, health }
      }),
    )
    // A server is known to the balancers by its address.
    const pools = poolsOf(
      scraped.map((s) => ({ name: s.described.name, metrics: s.metrics })),
    )
    const samples = scraped.map(
      ({ described, node, up, metrics, health }): NodeSample => {
        const views = pools.get(described.url)
        return {
          name: described.name,
          state:
            health?.status === 'draining' ? 'draining' : up ? 'up' : 'down',
          pid: node?.pid ?? described.pid,
          ...(node ? rates(node) : {}),
          facts: metrics ? factsOf(described.tier, metrics) : [],
          ...(views ? { pools: views } : {}),
        }
      },
    )
    // Sharded steps: rows per shard, from the app's own count (a query on
    // every shard, so every fifth sample only), on each of its databases.
    if (current.nodes.some((n) => n.shard && n.tier === 'database')) {
      if (ticks++ % 5 === 0) rows = await rowsPerShard(current.frontDoor)
      for (const sample of samples) {
        const shard = current.nodes.find((n) => n.name === sample.name)?.shard
        const count = shard ? rows?.[shard] : undefined
        if (count !== undefined)
          sample.facts.push(`${shard}: ${count} link${count === 1 ? '' : 's'}`)
      }
    }
    const door = samples.find(
      (s) => current.nodes.find((n) => n.name === s.name)?.frontDoor,
    )
    // One point a second: a sample taken early for a new page replaces the
    // last point; points from before a time nobody watched are dropped.
    const point = { at, rps: door?.rps ?? 0, p99: door?.p99 ?? null }
    if (at - (series.at(-1)?.at ?? 0) < intervalMs / 2) series.pop()
    series.push(point)
    while (series.length > 60 || (series[0] && series[0].at < at - 60_000))
      series.shift()
    return {
      at,
      topology: drawable(current),
      nodes: samples,
      ...(burst ? { burst: withLine(burst.progress()) } : {}),
    }
  }

  // Each page's frame: the last point of the chart, or for a page that has
  // had no frame yet, the whole minute.
  const send = (listener: (sample: Sample) => void, current: Sample) => {
    const history = newcomers.delete(listener)
    listener({ ...current, series: history ? [...series] : series.slice(-1) })
  }

  let stopped = false
  const loop = async () => {
    while (!stopped) {
      const started = Date.now()
      // Nobody watching: no scrapes, so the dashboard costs nothing.
      if (listeners.size > 0) {
        const fresh = await sample().catch(() => undefined)
        if (fresh) latest = fresh
        if (fresh) for (const listener of listeners) send(listener, fresh)
      }
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(
          resolve,
          Math.max(0, intervalMs - (Date.now() - started)),
        ).unref()
      })
      wake = undefined
    }
  }
  void loop()

  return {
    /** Frames for one page, the first as soon as it is fresh: the last
     * sample if it was taken within the interval (for the pages already
     * open), or else a new one at once, never one from before it came. */
    subscribe(listener: (sample: Sample) => void) {
      listeners.add(listener)
      newcomers.add(listener)
      if (latest && Date.now() - latest.at < intervalMs) send(listener, latest)
      else wake?.()
      return () => {
        listeners.delete(listener)
        newcomers.delete(listener)
      }
    },
    follow(next: Burst) {
      burst = next
    },
    stop() {
      stopped = true
      listeners.clear()
      newcomers.clear()
      wake?.()
    },
  }
}

const withLine = (progress: ReturnType<Burst['progress']>) => ({
  ...progress,
  line: progressLine(progress),
})
