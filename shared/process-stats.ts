// What every node process reports about itself, whatever its role: CPU time,
// memory, and how long its HTTP answers took. Node's own diagnostics channels
// see every request an http.Server answers (Express or plain node:http), so
// no step's code has to time anything: the way a platform measures a
// container from outside its code (cgroups for CPU, a sidecar for latency).
// The node sends these over IPC to the launcher once a second; the dashboard
// and the bench read them there (RunningNode.stats).
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
// scrapes (the dashboard's included) stay out of the counts, and so do a
// replica's long polls for the primary's log, which wait up to seconds for
// news by design and would read as a slow primary.
const MONITORING = /^\/(healthz|metrics|_edge\/metrics|replication\/log)(\?|$)/

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

/** Starts counting this process's answers; read() gives the figures so far. */
export function watchProcess(): { read(): ProcessStats } {
  const started = new WeakMap<ServerResponse, number>()
  const latency = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  let requests = 0
  subscribe('http.server.request.start', (message) => {
    const { request, response } = message as {
      request: IncomingMessage
      response: ServerResponse
    }
    if (!MONITORING.test(request.url ?? ''))
      started.set(response, performance.now())
  })
  subscribe('http.server.response.finish', (message) => {
    const { response } = message as { response: ServerResponse }
    const at = started.get(response)
    if (at === undefined) return
    started.delete(response)
    requests++
    latency[bucketOf(performance.now() - at)]!++
  })
  return {
    read() {
      const cpu = process.cpuUsage()
      return {
        at: Date.now(),
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20),
        requests,
        latency: [...latency],
      }
    },
  }
}
