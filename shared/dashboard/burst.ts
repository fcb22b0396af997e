// A bounded burst of traffic at the front door, from the dashboard or from
// `npm run chaos -- stepNN burst`: a fixed number of GETs, ten at a time,
// each with a deadline, so that a click can load the system for a few
// seconds and never for good.
import { Agent, request } from 'node:http'

export const MAX_BURST = 5000

/** What a burst asked for (a number of requests, a code to redirect or
 * none: GET /) comes to, or what is wrong with it. */
export function burstPlan({
  requests = 1000,
  code,
}: {
  requests?: unknown
  code?: unknown
}): { requests: number; path: string } | { error: string } {
  const count = typeof requests === 'string' ? Number(requests) : requests
  if (
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 1 ||
    count > MAX_BURST
  )
    return { error: `requests: a whole number, 1 to ${MAX_BURST}` }
  if (
    code !== undefined &&
    !(typeof code === 'string' && /^[\w-]{1,64}$/.test(code))
  )
    return { error: 'code: letters, digits, - and _' }
  return { requests: count, path: code ? `/${code}` : '/' }
}

/** A burst's progress in one line, as the page shows it. */
export function progressLine(p: ReturnType<Burst['progress']>): string {
  return (
    `${p.done ? 'Done' : 'Running'}: GET ${p.path}, ${p.sent} sent, ` +
    `${p.answered} answered, ${p.refused} refused (4xx), ${p.failed} failed`
  )
}

export interface Burst {
  path: string
  readonly done: boolean
  progress(): {
    path: string
    sent: number
    answered: number
    refused: number
    failed: number
    done: boolean
  }
  stop(): void
}

export function burst(
  frontDoor: string,
  {
    requests,
    path,
    connections = 10,
  }: { requests: number; path: string; connections?: number },
): Burst {
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const target = new URL(path, frontDoor)
  let sent = 0
  let answered = 0
  let refused = 0
  let failed = 0
  let done = false
  let stopped = false

  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(target, { agent, timeout: 5000 }, (res) => {
        res.resume()
        res.on('end', () => {
          // A 4xx is the system saying no (a 429 from a rate limit), not
          // an answer, nor a failure of the system.
          const status = res.statusCode!
          if (status < 400) answered++
          else if (status < 500) refused++
          else failed++
          resolve()
        })
      })
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => {
        failed++
        resolve()
      })
      req.end()
    })
  const worker = async () => {
    while (!stopped && sent < requests) {
      sent++
      await one()
    }
  }
  void Promise.all(Array.from({ length: connections }, worker)).then(() => {
    done = true
    agent.destroy()
  })
  return {
    path,
    get done() {
      return done
    },
    progress: () => ({ path, sent, answered, refused, failed, done }),
    stop: () => void (stopped = true),
  }
}
