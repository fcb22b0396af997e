// Once a second: what every node is doing. Rates come from each process's
// own report (RunningNode.stats: answers, CPU, latency histogram), the
// step's facts from the node's /metrics (cache hits, replication role and
// lag, queue depth), so every step is drawn the same way, with what it has.
import type { RunningNode } from '../launcher'
import { percentile, type ProcessStats } from '../process-stats'
import type { Topology } from '../topology'
import type { Burst } from './burst'

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
}

export interface Sample {
  at: number
  topology: Pick<Topology, 'step' | 'frontDoor' | 'nodes' | 'links'>
  nodes: NodeSample[]
  /** The front door's last minute, one point a second. */
  series?: { at: number; rps: number; p99: number | null }[]
  burst?: ReturnType<Burst['progress']>
}

type Counters = Record<string, number>
interface Metrics {
  counters?: Counters
  replication?: {
    role?: string
    lagEntries?: number
    lagMs?: number
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
    const { role, lagEntries, lagMs, leased } = metrics.replication
    // A primary without its lease refuses writes: fenced off, until the
    // monitor says who leads.
    facts.push(
      role === 'primary' && leased === false
        ? 'primary, fenced (no lease)'
        : role,
    )
    if (role !== 'primary' && lagEntries !== undefined)
      facts.push(`lag ${lagEntries} entries, ${lagMs ?? 0} ms`)
  }
  for (const [queue, figures] of Object.entries(metrics.queues ?? {})) {
    facts.push(
      `${queue}: ${figures.waiting ?? 0} waiting, oldest ${figures.oldestWaitingMs ?? 0} ms`,
    )
    if (figures.dead) facts.push(`${queue}: ${figures.dead} dead letters`)
  }
  return facts
}

async function metricsOf(
  url: string,
  anyStatus = false,
): Promise<(Metrics & { status?: string }) | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(800) })
    return res.ok || anyStatus ? ((await res.json()) as Metrics) : undefined
  } catch {
    return undefined
  }
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
  let burst: Burst | undefined
  let latest: Sample | undefined
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
    const samples = await Promise.all(
      current.nodes.map(async (described): Promise<NodeSample> => {
        const node = nodes.find((n) => n.name === described.name)
        const up = node?.alive ?? false
        const path = METRICS_PATH[described.tier]
        const metrics =
          up && path && described.url.startsWith('http')
            ? await metricsOf(`${described.url}${path}`)
            : undefined
        const draining =
          up &&
          described.tier === 'app' &&
          (await metricsOf(`${described.url}/healthz`, true))?.status ===
            'draining'
        return {
          name: described.name,
          state: draining ? 'draining' : up ? 'up' : 'down',
          pid: node?.pid ?? described.pid,
          ...(node ? rates(node) : {}),
          facts: metrics ? factsOf(described.tier, metrics) : [],
        }
      }),
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
    series.push({ at, rps: door?.rps ?? 0, p99: door?.p99 ?? null })
    if (series.length > 60) series.shift()
    return {
      at,
      topology: drawable(current),
      nodes: samples,
      ...(burst ? { burst: burst.progress() } : {}),
    }
  }

  let stopped = false
  const loop = async () => {
    while (!stopped) {
      const started = Date.now()
      // Nobody watching: no scrapes, so the dashboard costs nothing.
      if (listeners.size > 0) latest = await sample().catch(() => latest)
      if (latest && listeners.size > 0) {
        const point = { ...latest, series: series.slice(-1) }
        for (const listener of listeners) listener(point)
      }
      await new Promise((resolve) =>
        setTimeout(
          resolve,
          Math.max(0, intervalMs - (Date.now() - started)),
        ).unref(),
      )
    }
  }
  void loop()

  return {
    /** The last sample; with `history`, the front door's whole last minute. */
    latest(history = false): object {
      return {
        ...(latest ?? {
          at: Date.now(),
          topology: drawable(topology()),
          nodes: [],
        }),
        series: history ? series : series.slice(-1),
      }
    },
    subscribe(listener: (sample: Sample) => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    follow(next: Burst) {
      burst = next
    },
    stop() {
      stopped = true
      listeners.clear()
    },
  }
}
