// The global load balancer: one address for the whole world, in front of a
// load balancer per data center. Each request goes to the client's nearest
// healthy region (global-policy.ts), across the WAN when that region is far;
// a region whose health checks fail loses its traffic to the next one, and
// when all of them fail, traffic goes everywhere (fail open). It is step 3's
// balancer with another way to choose. In production this is GeoDNS or
// anycast in front of regional balancers; see the lesson.
import type { IncomingMessage } from 'node:http'
import type { Handle } from '../../../../shared/net'
import {
  startLoadBalancer,
  type LoadBalancerOptions,
} from '../balancer/load-balancer'
import { chooseRegion, type Mode } from './global-policy'

export interface GlobalBalancerOptions {
  name: string
  port?: number
  host?: string
  /** Each region's own load balancer, as the health checks reach it. */
  regions: { name: string; url: string; weight?: number }[]
  /** routes[client region][region]: how that client's requests reach the
   * region (across the WAN when far). Straight to `url` when absent. */
  routes?: Record<string, Record<string, string>>
  /** For each client region, the regions from nearest to farthest. */
  preference: Record<string, string[]>
  defaultRegion: string
  mode?: Mode
  /** The region of clients that come straight here, by their address. */
  addressTable?: Record<string, string>
  rise?: number
  fall?: number
  healthCheck?: LoadBalancerOptions['healthCheck']
  timeoutMs?: number
  log?: (line: string) => void
}

export async function startGlobalBalancer(
  options: GlobalBalancerOptions,
): Promise<Handle> {
  const names = new Map(options.regions.map((r) => [r.url, r.name]))
  const urls = new Map(options.regions.map((r) => [r.name, r.url]))
  const weights = new Map(options.regions.map((r) => [r.url, r.weight ?? 1]))

  // The edge names the client's region; curl and tests may too. Anything
  // else is no region: the address table, then the default, decide.
  const clientRegion = (req: IncomingMessage): string | undefined => {
    const named = String(req.headers['x-client-region'] ?? '').toLowerCase()
    if (urls.has(named)) return named
    return options.addressTable?.[req.socket.remoteAddress ?? '']
  }

  return startLoadBalancer({
    name: options.name,
    port: options.port,
    host: options.host,
    servers: options.regions.map((region) => region.url),
    rise: options.rise,
    fall: options.fall,
    healthCheck: options.healthCheck,
    timeoutMs: options.timeoutMs,
    log: options.log,
    route: (req, pool, tried) => {
      const client = clientRegion(req) ?? options.defaultRegion
      const regions = pool.servers().map((server) => ({
        name: names.get(server.url)!,
        up: server.up,
        inFlight: server.inFlight,
        weight: weights.get(server.url)!,
      }))
      const chosen = chooseRegion(
        regions,
        client,
        {
          mode: options.mode ?? 'nearest',
          preference: options.preference,
          defaultRegion: options.defaultRegion,
        },
        new Set([...tried].map((url) => names.get(url)!)),
      )
      if (!chosen) return undefined
      const server = urls.get(chosen.name)!
      return { server, via: options.routes?.[client]?.[chosen.name] ?? server }
    },
  })
}
