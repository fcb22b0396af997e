// What every node process reports about itself, whatever its role: CPU time,
// memory, and how long its HTTP answers took. Node's own diagnostics channels
// see every request an http.Server answers (Express or plain node:http), so
// no step's code has to time anything: the way a platform measures a
// container from outside its code (cgroups for CPU, a sidecar for latency).
// A node shows them in its own /metrics (metricsOfProcess) and sends the
// same figures over IPC to the launcher once a second, where the dashboard
// reads them (RunningNode.stats), nodes without a /metrics included.
import { subscribe } from 'node:diagnostics_channel'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Upper bounds of the latency buckets, in ms; the last bucket is open. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
] as const

export interface ProcessStats {
  /** When the process read these figures (epoch ms). */
  at: number
  /** User + system CPU time since the process started. */
  cpuMs: number
  rssMb: number
  /** HTTP answers since the process started, monitoring excluded. */
  requests: number
  /** Answers per bucket of LATENCY_BUCKETS_MS, plus one for slower ones. */
  latency: number[]
}

// The watchers' own requests are not the traffic: health checks, metrics
// scrapes (the dashboard's included) stay out of the counts, and so do the
// long polls on a database: a replica's for the primary's log, an app's
// cache for the changes to invalidate (from step 7). They wait up to
// seconds for news by design and would read as a slow database.
export const MONITORING =
  /^\/(healthz|metrics|_edge\/metrics|_lb\/metrics|replication\/(log|changes))(\?|$)/

export function bucketOf(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound)
  return i === -1 ? LATENCY_BUCKETS_MS.length : i
}

/** The smallest bucket bound under which `quantile` of the answers fall. */
export function percentile(
  latency: number[],
  quantile: number,
): number | undefined {
  const total = latency.reduce((sum, n) => sum + n, 0)
  if (total === 0) return undefined
  let seen = 0
  for (const [i, n] of latency.entries()) {
    seen += n
    if (seen >= quantile * total)
      return LATENCY_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY
  }
  return Number.POSITIVE_INFINITY
}

interface Answers {
  requests: number
  latency: number[]
}

const answers = (): Answers => ({
  requests: 0,
  latency: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
})

// Counted from the moment this module loads: every server of the process
// together, and each server apart by the port it listens on (several nodes
// share one process when a test runs them in-process).
const wholeProcess = answers()
const byPort = new Map<number, Answers>()
// When an answer began, kept on the response itself: cheaper per request
// than a map from responses to times.
const STARTED = Symbol('answer started')
type Timed = ServerResponse & { [STARTED]?: number }

subscribe('http.server.request.start', (message) => {
  const { request, response } = message as {
    request: IncomingMessage
    response: Timed
  }
  if (!MONITORING.test(request.url ?? '')) response[STARTED] = performance.now()
})
subscribe('http.server.response.finish', (message) => {
  const { response } = message as { response: Timed }
  const at = response[STARTED]
  if (at === undefined) return
  const bucket = bucketOf(performance.now() - at)
  const port = response.socket?.localPort ?? 0
  let server = byPort.get(port)
  if (!server) byPort.set(port, (server = answers()))
  for (const counts of [wholeProcess, server]) {
    counts.requests++
    counts.latency[bucket]!++
  }
})

function figures({ requests, latency }: Answers): ProcessStats {
  const cpu = process.cpuUsage()
  return {
    at: Date.now(),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
    requests,
    latency: [...latency],
  }
}

/** This process's figures so far: CPU, memory, every server's answers. */
export function processStats(): ProcessStats {
  return figures(wholeProcess)
}

/** What a node shows under "process" in its /metrics: the figures of the
 * process it runs in, with the answers of its own server (the one listening
 * on `port`), the latency histogram labelled by its buckets. */
export function metricsOfProcess(port: number | undefined) {
  const { cpuMs, rssMb, requests, latency } = figures(
    byPort.get(port ?? 0) ?? answers(),
  )
  return {
    pid: process.pid,
    cpuMs,
    rssMb,
    requests,
    p50Ms: percentile(latency, 0.5) ?? null,
    p99Ms: percentile(latency, 0.99) ?? null,
    latency: { upperBoundsMs: [...LATENCY_BUCKETS_MS, null], counts: latency },
  }
}
