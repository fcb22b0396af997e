// An app server: the app, its store, and a port. It keeps no state of its
// own: every link lives in the database server, so it can be restarted,
// replaced or multiplied without losing anything.
import { createServer } from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { createDbClient } from '../database/db-client'
import { createDbStore } from '../database/db-store'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  dbUrl: string
  dbToken: string
  dbTimeoutMs?: number
  /** Where short URLs point: the front door (PUBLIC_URL). */
  publicUrl: string
  /** Its own address, when PUBLIC_URL names another: a link to it would loop. */
  selfUrls?: string[]
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
  const server = await listen(createServer(app), options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await server.close()
      await store.close()
    },
  }
}
