// Active health checks: every `intervalMs`, GET /healthz on each app server
// and report pass or fail to the pool. A check that does not answer within
// `timeoutMs` fails, or one hung server would stall its own checks.
import type { Pool } from './balancing-policy'
import { httpCall } from '../common/http-call'

export interface HealthCheckOptions {
  path: string
  intervalMs: number
  timeoutMs: number
}

export function startHealthChecks(
  pool: Pool,
  { path, intervalMs, timeoutMs }: HealthCheckOptions,
  log: (line: string) => void,
): () => void {
  const running = new Set<string>()
  const check = async (url: string) => {
    if (running.has(url)) return // the previous check is still waiting
    running.add(url)
    const before = pool.servers().find((s) => s.url === url)?.up
    const passed = await probe(new URL(path, url), timeoutMs)
    running.delete(url)
    pool.report(url, passed)
    const after = pool.servers().find((s) => s.url === url)?.up
    if (before !== after)
      log(`${url} is ${after ? 'UP' : 'DOWN'} (health check)`)
  }
  const timer = setInterval(() => {
    for (const server of pool.servers()) {
      check(server.url).catch((error: unknown) =>
        log(`health check failed: ${error}`),
      )
    }
  }, intervalMs)
  return () => clearInterval(timer)
}

async function probe(url: URL, timeoutMs: number): Promise<boolean> {
  try {
    const reply = await httpCall(url, {
      signal: AbortSignal.timeout(timeoutMs),
    })
    return reply.ok
  } catch {
    return false
  }
}
