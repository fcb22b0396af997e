// The whole system of this step, as its diagram reads:
//
//   client ──HTTP──▶ app-1 (Express) ──▶ data/links.db (SQLite)
//
// Tests launch it in-process; `npm start` launches every node as a process.
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
  /** The front door's port; 0 (the default) picks a free one. */
  port?: number
  /** Where short URLs point (PUBLIC_URL); by default the front door. */
  publicUrl?: string
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
  const port = options.port || (await freePort())
  const app = await launch('app', {
    name: 'app-1',
    port,
    dataFile: join(options.dataDir, 'links.db'),
    publicUrl: options.publicUrl ?? `http://${LOOPBACK}:${port}`,
    selfUrls: [`http://${LOOPBACK}:${port}`],
  })
  return { url: app.url, nodes: [app], close: () => app.close() }
}
