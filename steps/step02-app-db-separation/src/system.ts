// The whole system of this step, as its diagram reads:
//
//   client ──HTTP──▶ app-1 ──HTTP/JSON + token──▶ database ──▶ links.db
//
// Tests launch it in-process; `npm start` launches every node as a process.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LOOPBACK, freePort } from '../../../shared/net'
import {
  inProcess,
  type Launch,
  type RunningNode,
} from '../../../shared/launcher'
import { roles } from './roles'

export interface SystemOptions {
  dataDir: string
  /** The front door's port; the others follow it. 0 picks free ports. */
  port?: number
  /** Where short URLs point (PUBLIC_URL); by default the front door. */
  publicUrl?: string
  /** The shared secret between app and database; random by default. */
  dbToken?: string
  dbTimeoutMs?: number
}

export interface System {
  url: string
  nodes: RunningNode[]
  close(): Promise<void>
}

export async function startSystem(
  options: SystemOptions,
  launch: Launch<typeof roles> = inProcess(roles),
): Promise<System> {
  const at = (offset: number) => (options.port ? options.port + offset : 0)
  const port = options.port || (await freePort())
  const dbToken = options.dbToken ?? randomBytes(24).toString('base64url')
  const database = await launch('database', {
    name: 'database',
    port: at(10),
    dataFile: join(options.dataDir, 'links.db'),
    token: dbToken,
  })
  const app = await launch('app', {
    name: 'app-1',
    port,
    publicUrl: options.publicUrl ?? `http://${LOOPBACK}:${port}`,
    selfUrls: [`http://${LOOPBACK}:${port}`],
    dbUrl: database.url,
    dbToken,
    dbTimeoutMs: options.dbTimeoutMs,
  })
  const nodes = [app, database]
  return {
    url: app.url,
    nodes,
    // The front door first, so no request arrives at a closed database.
    close: async () => {
      for (const node of nodes) await node.close()
    },
  }
}
