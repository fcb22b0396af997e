// The whole system of this step, as its diagram reads:
//
//                     ┌──▶ app-1 ──┐
//   client ──▶ load-balancer ──▶ app-2 ──┼──▶ database ──▶ links.db
//                     └──▶ app-3 ──┘
//
// Tests launch it in-process; `npm start` launches every node as a process.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import {
  inProcess,
  type Launch,
  type RunningNode,
} from '../../../shared/launcher'
import type { PolicyName } from './balancing-policy'
import type { RateLimitOptions } from './rate-limit'
import { roles } from './roles'

export interface SystemOptions {
  dataDir: string
  /** The front door's port; the others follow it. 0 picks free ports. */
  port?: number
  appServers?: number
  policy?: PolicyName
  /** Health checks: every intervalMs; down after `fall` fails, up after `rise` passes. */
  healthIntervalMs?: number
  rise?: number
  fall?: number
  timeoutMs?: number
  rateLimit?: RateLimitOptions
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
  const dbToken = options.dbToken ?? randomBytes(24).toString('base64url')
  const intervalMs = options.healthIntervalMs ?? 1000
  const fall = options.fall ?? 3
  const database = await launch('database', {
    name: 'database',
    port: at(10),
    dataFile: join(options.dataDir, 'links.db'),
    token: dbToken,
  })
  const names = Array.from(
    { length: options.appServers ?? 3 },
    (_, i) => `app-${i + 1}`,
  )
  const apps = await Promise.all(
    names.map((name, i) =>
      launch('app', {
        name,
        port: at(i + 1),
        dbUrl: database.url,
        dbToken,
        dbTimeoutMs: options.dbTimeoutMs,
        // Outlast the balancer's detection time, with intervals to spare.
        drainGraceMs: (fall + 2) * intervalMs,
        drainQuietMs: 2 * intervalMs,
      }),
    ),
  )
  const balancer = await launch('load-balancer', {
    name: 'load-balancer',
    port: at(0),
    servers: apps.map((app) => app.url),
    policy: options.policy,
    rise: options.rise,
    fall,
    healthCheck: { intervalMs },
    timeoutMs: options.timeoutMs,
    rateLimit: options.rateLimit,
  })
  const nodes = [balancer, ...apps, database]
  return {
    url: balancer.url,
    nodes,
    close: async () => {
      await balancer.close()
      await Promise.all(apps.map((app) => app.close()))
      await database.close()
    },
  }
}
