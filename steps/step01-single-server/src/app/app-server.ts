// An app server: the app, its store, and a port. In this step the store is a
// SQLite file that only this process may open.
import { createServer } from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { createApp } from './app'
import { createSqliteStore } from '../database/sqlite-store'

export interface AppServerOptions {
  name: string
  port?: number
  host?: string
  dataFile: string
  /** Where short URLs point: the front door (PUBLIC_URL). */
  publicUrl: string
  /** Its own address, when PUBLIC_URL names another: a link to it would loop. */
  selfUrls?: string[]
}

export async function startAppServer(
  options: AppServerOptions,
): Promise<Handle> {
  const store = createSqliteStore(options.dataFile)
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
