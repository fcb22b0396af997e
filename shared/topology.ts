// The live topology of a running step, as `npm start` keeps it in
// .run/stepNN.json: every node with its role, tier, URL, process id and
// state, the front door, and the control address through which commands
// (chaos, the dashboard) ask the launcher to kill or restart a node, so that
// the launcher stays the one owner of every process.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunningNode } from './launcher'
import { runDir } from './steps'

export interface TopologyNode {
  name: string
  role: string
  /** The kind of box, for drawing: balancer, app, cache, database... */
  tier: string
  region?: string
  shard?: string
  url: string
  pid: number
  state: 'up' | 'down'
  frontDoor: boolean
}

export interface Topology {
  step: string
  frontDoor: string
  /** Where the nodes keep their files (and backups, from step 4 on). */
  dataDir: string
  control: { url: string; token: string }
  /** The databases' admin secret, for `npm run backup` and `restore`. */
  adminToken?: string
  /** The edges' purge secret, for `npm run purge` (from step 6 on). */
  purgeToken?: string
  nodes: TopologyNode[]
  /** The request path as arrows between nodes: [from, to] by name. */
  links: [string, string][]
  /** Where `npm start` serves the dashboard; its token is on the page. */
  dashboard?: string
}

const TIERS: Record<string, string> = {
  'load-balancer': 'balancer',
  app: 'app',
  cache: 'cache',
  database: 'database',
  monitor: 'database',
  edge: 'edge',
  wan: 'wan',
  'global-balancer': 'global',
  witness: 'database',
  worker: 'worker',
}

export function describeNodes(
  nodes: RunningNode[],
  frontDoor: string,
): TopologyNode[] {
  return nodes.map((node) => ({
    name: node.name,
    role: node.role,
    tier: TIERS[node.role] ?? node.role,
    ...(node.region ? { region: node.region } : {}),
    ...(node.shard ? { shard: node.shard } : {}),
    url: node.url,
    pid: node.pid,
    state: node.alive ? 'up' : 'down',
    frontDoor: node.url === frontDoor,
  }))
}

// A request travels down these tiers; each step has some of them. Which
// nodes talk to which follows from the tiers, and from the regions where
// both ends have one: a data center's balancer sends to its own apps.
const PATH: [from: string, to: string][] = [
  ['edge', 'global'],
  ['global', 'balancer'],
  ['balancer', 'app'],
  ['app', 'cache'],
  ['app', 'database'],
  ['cache', 'worker'],
]

export function requestPath(nodes: TopologyNode[]): [string, string][] {
  const present = new Set(nodes.map((node) => node.tier))
  // A tier a step lacks is skipped: without a global balancer the edges
  // send to the balancer, without any balancer to the apps.
  const next = (tier: string): string[] => {
    const targets = PATH.filter(([from]) => from === tier).map(([, to]) => to)
    return targets.flatMap((to) => (present.has(to) ? [to] : next(to)))
  }
  const sameRegion = (a: TopologyNode, b: TopologyNode) =>
    !a.region || !b.region || a.region === b.region
  return nodes.flatMap((from) =>
    next(from.tier).flatMap((tier) =>
      nodes
        .filter((to) => to.tier === tier && to.role !== 'monitor')
        .filter((to) => sameRegion(from, to))
        .map((to): [string, string] => [from.name, to.name]),
    ),
  )
}

export const topologyFile = (short: string) => join(runDir(), `${short}.json`)

export function readTopology(short: string): Topology | undefined {
  const file = topologyFile(short)
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as Topology
}
