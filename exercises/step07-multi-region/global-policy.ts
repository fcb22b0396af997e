// Which data center gets a request. Nearest first: a client is served by
// the region closest to it, while that region is healthy; when it is not,
// the next in the client's order takes over (failover). When every region
// looks down, the health checks are more likely wrong than the whole world
// is: route as if all were up (fail open, as Route 53 does). Least-loaded
// mode trades distance for balance: the healthy region with the fewest
// requests in flight per unit of weight.
import { todo } from '../../shared/todo'

export type Mode = 'nearest' | 'least-loaded'

export interface RegionState {
  name: string
  /** As the health checks see it (rise and fall, as in step 3). */
  up: boolean
  /** Requests this balancer has in flight there. */
  inFlight: number
  /** Its share of traffic in least-loaded mode (e.g. its capacity). */
  weight: number
}

export interface RoutingOptions {
  mode: Mode
  /** For each client region, the regions from nearest to farthest. */
  preference: Record<string, string[]>
  /** Whose preference a client of no known region gets. */
  defaultRegion: string
}

/** The region for this request, or undefined when every one was tried. */
export function chooseRegion(
  regions: RegionState[],
  clientRegion: string | undefined,
  options: RoutingOptions,
  tried: ReadonlySet<string> = new Set(),
): RegionState | undefined {
  const order =
    options.preference[clientRegion ?? ''] ??
    options.preference[options.defaultRegion] ??
    []
  // The client's regions in its own order; regions it does not list last.
  const ranked = [
    ...order.flatMap((name) => regions.filter((r) => r.name === name)),
    ...regions.filter((r) => !order.includes(r.name)),
  ].filter((region) => !tried.has(region.name))
  // 🐨 Keep the regions of `ranked` (untried, nearest first) that are up.
  // 💰 `filter` keeps the order it is given, and `ranked` is the client's.
  // 🦉 The first healthy region of the client's order is its nearest: a
  //    region whose checks fail loses its clients to the next one (failover).
  const healthy: RegionState[] = todo(
    'the healthy regions',
    'Hint 1: nearest healthy region',
  )
  // 🐨 When no region is healthy, use all of `ranked` instead (fail open).
  // 💰 `ranked`, not `regions`: the client's order and the regions already
  //    tried still count when every check fails.
  // 🦉 Failing closed when every check fails turns a broken health check
  //    into a worldwide outage.
  const candidates: RegionState[] = todo('fail open', 'Hint 2: fail open')
  if (options.mode === 'nearest') return candidates[0]
  // 🐨 Return the candidate with the lowest inFlight / weight; of those that
  //    tie, the nearest.
  // 💰 A strict < while walking `candidates` in order keeps the nearest.
  // 🦉 A full region near its clients answers later than an idle one across
  //    the WAN: distance is one cost, queueing is another.
  return todo('least-loaded', 'Hint 3: least-loaded')
}
