// Which app server gets the next request, and which servers may get one at
// all. Round-robin is fair only when requests cost the same; least-connections
// adapts to slow requests, but needs an exact count of what is in flight.
// Health follows HAProxy: a server goes down after `fall` failed checks in a
// row, and comes back only after `rise` passed checks in a row.

export type PolicyName = 'round-robin' | 'least-connections'

export interface PoolOptions {
  policy: PolicyName
  /** Passed checks in a row that bring a down server back. */
  rise: number
  /** Failed checks in a row that take an up server down. */
  fall: number
}

export interface ServerState {
  url: string
  up: boolean
  /** Consecutive passed (positive) or failed (negative) checks. */
  streak: number
  inFlight: number
}

export interface Pool {
  /** The next server for a request, skipping `tried`; undefined when none is up. */
  pick(tried?: ReadonlySet<string>): string | undefined
  /** The result of one active health check. */
  report(url: string, passed: boolean): void
  /** Passive ejection: a request could not connect, so stop sending at once. */
  eject(url: string): void
  started(url: string): void
  finished(url: string): void
  servers(): readonly ServerState[]
}

export function createPool(urls: string[], options: PoolOptions): Pool {
  const servers: ServerState[] = urls.map((url) => ({
    url,
    up: true,
    streak: 0,
    inFlight: 0,
  }))
  const byUrl = (url: string) => {
    const server = servers.find((s) => s.url === url)
    if (!server) throw new TypeError(`Unknown server ${url}`)
    return server
  }
  let next = 0

  function roundRobin(candidates: ServerState[]): ServerState | undefined {
    // Walk the full list from where the last pick stopped, so the turn order
    // stays fair when a server is down or already tried.
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(next + i) % servers.length]!
      if (candidates.includes(server)) {
        next = (next + i + 1) % servers.length
        return server
      }
    }
    return undefined
  }

  function leastConnections(
    candidates: ServerState[],
  ): ServerState | undefined {
    // Ties go round-robin, or an idle pool would send everything to server 1.
    const fewest = Math.min(...candidates.map((s) => s.inFlight))
    return roundRobin(candidates.filter((s) => s.inFlight === fewest))
  }

  return {
    pick(tried = new Set()) {
      const candidates = servers.filter((s) => s.up && !tried.has(s.url))
      if (candidates.length === 0) return undefined
      const chosen =
        options.policy === 'round-robin'
          ? roundRobin(candidates)
          : leastConnections(candidates)
      return chosen?.url
    },
    report(url, passed) {
      const server = byUrl(url)
      if (passed) {
        server.streak = Math.max(server.streak, 0) + 1
        if (!server.up && server.streak >= options.rise) server.up = true
      } else {
        server.streak = Math.min(server.streak, 0) - 1
        if (server.up && -server.streak >= options.fall) server.up = false
      }
    },
    eject(url) {
      const server = byUrl(url)
      server.up = false
      server.streak = 0
    },
    started: (url) => void byUrl(url).inFlight++,
    finished: (url) => void byUrl(url).inFlight--,
    servers: () => servers,
  }
}
