// Graceful shutdown behind a load balancer. On SIGTERM an app server first
// fails its health check, so the balancer stops sending; keeps answering what
// still arrives during a grace period; then stops accepting, lets in-flight
// requests finish, and exits. Trade-off: the grace period must outlast the
// balancer's detection time (fall x interval), which the app can only assume.
import type { RequestListener, Server } from 'node:http'
import { waitFor } from '../../../../shared/wait-for'

export interface DrainOptions {
  /** The longest the app keeps answering after SIGTERM. */
  graceMs: number
  /** Ends the grace early once no request at all (not even a health check)
   * came for this long: the balancer is gone, nobody is left to notice. */
  quietMs?: number
}

export interface Drain {
  guard(handler: RequestListener): RequestListener
  drain(server: Server): Promise<void>
}

export function createDrain(
  node: string,
  { graceMs, quietMs = graceMs }: DrainOptions,
): Drain {
  let draining = false
  let inFlight = 0
  let lastRequestAt = 0
  return {
    guard: (handler) => (req, res) => {
      lastRequestAt = Date.now()
      if (draining) {
        // No new requests on this connection: the balancer opens another.
        res.setHeader('Connection', 'close')
        if (req.url?.split('?')[0] === '/healthz') {
          res.writeHead(503, {
            'Content-Type': 'application/json',
            'X-Served-By': node,
          })
          res.end(JSON.stringify({ status: 'draining', node }))
          return
        }
      }
      inFlight++
      res.on('close', () => inFlight--)
      handler(req, res)
    },
    async drain(server) {
      draining = true
      const startedAt = Date.now()
      await waitFor('the grace period to end', () => {
        const now = Date.now()
        return (
          now - startedAt >= graceMs ||
          now - Math.max(lastRequestAt, startedAt) >= quietMs
        )
      })
      server.close() // stop accepting; idle keep-alive connections close
      await waitFor('in-flight requests to finish', () => inFlight === 0, {
        timeoutMs: 30_000,
      })
    },
  }
}
