// A steady stream of client traffic through a front door while a test breaks
// something: GETs of known links and POSTs of new ones, a few at a time. It
// records every failure (a 5xx or a network error) and every acknowledged
// POST, so a test can assert "no client saw an error, nothing was lost".
import { createLink, postJson, send, uniqueUrl, type CreatedLink } from './http'
import { delay } from '../wait-for'

export interface Traffic {
  requests: number
  failures: string[]
  created: CreatedLink[]
  servedBy: Map<string, number>
  /** Resolves once n more requests have completed. */
  more(n: number): Promise<void>
  stop(): Promise<void>
}

// Bounded in count and time: a test that fails before stop() must not leave
// a loop hammering a closed port for the rest of the run.
const MAX_REQUESTS = 20_000
const MAX_MS = 120_000

export async function startTraffic(
  base: string,
  {
    concurrency = 4,
    posts = true,
  }: { concurrency?: number; posts?: boolean } = {},
): Promise<Traffic> {
  const startedAt = Date.now()
  const known = await Promise.all([createLink(base), createLink(base)])
  const traffic: Traffic = {
    requests: 0,
    failures: [],
    created: [],
    servedBy: new Map(),
    more: (n) => {
      const target = traffic.requests + n
      return new Promise((resolve) => waiters.push({ target, resolve }))
    },
    stop: async () => {
      running = false
      await Promise.all(workers)
    },
  }
  const waiters: { target: number; resolve: () => void }[] = []
  let running = true

  async function once(i: number) {
    const post = posts && i % 3 === 0
    const label = post ? 'POST /api/links' : 'GET'
    try {
      if (post) {
        const url = uniqueUrl()
        const reply = await postJson(base, '/api/links', { url })
        if (reply.status === 201) traffic.created.push(reply.json)
        else traffic.failures.push(`${label} -> ${reply.status} ${reply.body}`)
        count(reply.headers.get('x-served-by'))
      } else {
        const link = known[i % known.length]!
        const reply = await send(base, `/${link.code}`)
        if (reply.status !== 302)
          traffic.failures.push(
            `GET /${link.code} -> ${reply.status} ${reply.body}`,
          )
        count(reply.headers.get('x-served-by'))
      }
    } catch (error: unknown) {
      traffic.failures.push(`${label} -> ${(error as Error).message}`)
      await delay(10) // a refused connection fails at once: do not spin
    }
    traffic.requests++
    for (const waiter of waiters.filter((w) => w.target <= traffic.requests)) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }
  const count = (node: string | null) =>
    node && traffic.servedBy.set(node, (traffic.servedBy.get(node) ?? 0) + 1)

  const workers = Array.from({ length: concurrency }, async (_, worker) => {
    for (let i = worker; running; i += concurrency) {
      if (traffic.requests >= MAX_REQUESTS || Date.now() - startedAt > MAX_MS)
        break
      await once(i)
    }
  })
  return traffic
}
