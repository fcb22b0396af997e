// An app server: the app, its store, and a port. It keeps no state of its
// own, so the balancer can send any request to any app server; and on
// close() (SIGTERM) it drains before it exits, so a restart drops nothing.
import { createServer } from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { createDbClient } from '../database/db-client'
import { createDbStore } from '../database/db-store'
import { createDrain } from './drain'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  dbUrl: string
  dbToken: string
  dbTimeoutMs?: number
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
  const db = createDbClient({
    url: options.dbUrl,
    token: options.dbToken,
    timeoutMs: options.dbTimeoutMs,
  })
  const store = createDbStore(db)
  const app = createApp({
    store,
    node: options.name,
    publicUrl: options.publicUrl,
    selfUrls: options.selfUrls,
  })
  const drain = createDrain(options.name, {
    graceMs: options.drainGraceMs ?? 0,
    quietMs: options.drainQuietMs,
  })
  const http = createServer(drain.guard(app))
  const server = await listen(http, options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await drain.drain(http)
      await server.close()
      await store.close()
    },
  }
}
