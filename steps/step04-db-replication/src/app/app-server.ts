// An app server: the app, its store, and a port. It keeps no state of its
// own, so the balancer can send any request to any app server; and on
// close() (SIGTERM) it drains before it exits, so a restart drops nothing.
// Its store now routes writes to the primary and reads to the replicas.
import { createServer } from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { watchDbNodes } from '../database/db-nodes'
import { createDrain } from './drain'
import { createMetrics } from '../common/metrics'
import { createReplicatedStore } from '../database/replicated-store'
import { withRequestContext } from './request-context'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  /** The monitor, which knows the primary and the replicas. */
  monitorUrl: string
  dbToken: string
  dbTimeoutMs?: number
  /** A replica further behind leaves the read pool. */
  maxLagMs?: number
  /** How long a read waits for a replica to reach the client's last write. */
  readWaitMs?: number
  topologyIntervalMs?: number
  /** Where short URLs point: the front door (PUBLIC_URL). */
  publicUrl: string
  /** This shortener's own addresses (front door, app servers): a link to
   * one of them would loop. */
  selfUrls?: string[]
  /** How long to keep serving after SIGTERM while the balancer notices. */
  drainGraceMs?: number
  /** Stop sooner when no request (not even a health check) came this long. */
  drainQuietMs?: number
}

export async function startAppServer(
  options: AppServerOptions,
): Promise<Handle> {
  const metrics = createMetrics()
  const nodes = await watchDbNodes({
    monitorUrl: options.monitorUrl,
    token: options.dbToken,
    timeoutMs: options.dbTimeoutMs,
    intervalMs: options.topologyIntervalMs,
  })
  const store = createReplicatedStore({
    nodes,
    maxLagMs: options.maxLagMs ?? 1000,
    readWaitMs: options.readWaitMs ?? 200,
    metrics,
  })
  const app = createApp({
    store,
    node: options.name,
    publicUrl: options.publicUrl,
    selfUrls: options.selfUrls,
    metrics,
  })
  const drain = createDrain(options.name, {
    graceMs: options.drainGraceMs ?? 0,
    quietMs: options.drainQuietMs,
  })
  const http = createServer(drain.guard(withRequestContext(app)))
  const server = await listen(http, options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await drain.drain(http)
      await server.close()
      await nodes.close()
    },
  }
}
