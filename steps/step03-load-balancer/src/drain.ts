// Graceful shutdown behind a load balancer. On SIGTERM an app server first
// fails its health check, so the balancer stops sending; keeps answering what
// still arrives during a grace period; then stops accepting, lets in-flight
// requests finish, and exits. Trade-off: the grace period must outlast the
// balancer's detection time (fall x interval), which the app can only assume.
import type { RequestListener, Server } from 'node:http'
import { delay, waitFor } from '../../../shared/wait-for'

export interface Drain {
  guard(handler: RequestListener): RequestListener
  drain(server: Server): Promise<void>
}

export function createDrain(node: string, graceMs: number): Drain {
  let draining = false
  let inFlight = 0
  return {
    guard: (handler) => (req, res) => {
      if (draining) {
        // No new requests on this connection: the balancer opens another.
        res.setHeader('Connection', 'close')
        if (req.url === '/healthz') {
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
      await delay(graceMs)
      server.close() // stop accepting; idle keep-alive connections close
      await waitFor('in-flight requests to finish', () => inFlight === 0, {
        timeoutMs: 30_000,
      })
    },
  }
}
