// The whole system of this step, as its diagram reads:
//
//                     ┌──▶ app-1 ──┐
//   client ──▶ load-balancer ──▶ app-2 ──┼──▶ database ──▶ links.db
//                     └──▶ app-3 ──┘
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
import type { PolicyName } from './balancer/balancing-policy'
import type { RateLimitOptions } from './balancer/rate-limit'
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
  /** Where short URLs point (PUBLIC_URL); by default the front door. */
  publicUrl?: string
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
  // Peers must know each other's address before they start.
  const at = (offset: number) =>
    options.port ? Promise.resolve(options.port + offset) : freePort()
  const dbToken = options.dbToken ?? randomBytes(24).toString('base64url')
  const intervalMs = options.healthIntervalMs ?? 1000
  const fall = options.fall ?? 3
  const database = await launch('database', {
    name: 'database',
    port: await at(10),
    dataFile: join(options.dataDir, 'links.db'),
    token: dbToken,
  })
  const port = await at(0)
  const publicUrl = options.publicUrl ?? `http://${LOOPBACK}:${port}`
  const appPorts = await Promise.all(
    Array.from({ length: options.appServers ?? 3 }, (_, i) => at(i + 1)),
  )
  // The front door too: PUBLIC_URL may name another address.
  const selfUrls = [port, ...appPorts].map((p) => `http://${LOOPBACK}:${p}`)
  const apps = await Promise.all(
    appPorts.map((appPort, i) =>
      launch('app', {
        name: `app-${i + 1}`,
        port: appPort,
        publicUrl,
        selfUrls,
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
    port,
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
