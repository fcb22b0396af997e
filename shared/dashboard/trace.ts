// The request tracer: shorten a URL (or take a code) and follow it through
// the front door; the answers' own headers say which nodes took part (the
// edge, the region, the app server, the cache layer, the database and the
// shard). The dashboard asks here rather than in the browser: the front door
// is another origin, whose headers a page may not read.
import type { Topology } from '../topology'

const TRACED = [
  'x-edge',
  'x-edge-cache',
  'cache-status',
  'x-region',
  'x-served-by',
  'x-cache',
  'x-db',
  'x-shard',
] as const

export interface Hop {
  request: string
  status: number
  headers: Partial<Record<(typeof TRACED)[number], string>>
  /** The nodes this answer names, in the topology's order. */
  nodes: string[]
  location?: string
}

export interface Trace {
  code?: string
  hops: Hop[]
  /** Every node that took part in any hop, the front door included. */
  nodes: string[]
}

// Which nodes took part: the front door always; every node a header names;
// and the balancer of the region (or the only one) in front of the app.
function named(topology: Topology, headers: Hop['headers']): string[] {
  const words = new Set(
    Object.values(headers).flatMap((value) => value.split(/[\s,;=]+/)),
  )
  const served = topology.nodes.find(
    (n) => words.has(n.name) && n.tier === 'app',
  )
  const region = headers['x-region'] ?? served?.region
  // Before replicas and caches (steps 1 to 3) no header names the
  // database: the one database served every request the app answered.
  const databases = topology.nodes.filter((n) => n.tier === 'database')
  const onlyDatabase =
    !!served &&
    !headers['x-db'] &&
    !headers['x-cache'] &&
    databases.length === 1
  return topology.nodes
    .filter((node) => node.state === 'up')
    .filter(
      (node) =>
        node.frontDoor ||
        words.has(node.name) ||
        (onlyDatabase && node.tier === 'database') ||
        (node.tier === 'global' && !!served) ||
        (node.tier === 'balancer' &&
          !!served &&
          (!node.region || node.region === region)) ||
        (node.tier === 'cache' &&
          /HIT-L2|MISS/.test(headers['x-cache'] ?? '') &&
          (!node.region || node.region === region)),
    )
    .sort((a, b) => step(a.tier) - step(b.tier))
    .map((node) => node.name)
}

// The order in which a request meets the tiers, to list a path in.
const PATH_ORDER = ['edge', 'global', 'balancer', 'app', 'cache', 'database']
const step = (tier: string) =>
  PATH_ORDER.includes(tier) ? PATH_ORDER.indexOf(tier) : PATH_ORDER.length

async function hop(
  topology: Topology,
  method: string,
  path: string,
  body?: object,
): Promise<Hop & { text: string }> {
  const res = await fetch(new URL(path, topology.frontDoor), {
    method,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
    ...(body
      ? {
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }
      : {}),
  })
  const text = (await res.text()).slice(0, 10_000)
  const headers: Hop['headers'] = {}
  for (const name of TRACED) {
    const value = res.headers.get(name)
    if (value) headers[name] = value.slice(0, 200)
  }
  return {
    request: `${method} ${path}`,
    status: res.status,
    headers,
    nodes: named(topology, headers),
    ...(res.headers.get('location')
      ? { location: res.headers.get('location')!.slice(0, 300) }
      : {}),
    text,
  }
}

export async function trace(
  topology: Topology,
  { url, code }: { url?: string; code?: string },
): Promise<Trace | { error: string; hops?: Hop[] }> {
  const hops: Hop[] = []
  if (url !== undefined) {
    const { text, ...created } = await hop(topology, 'POST', '/api/links', {
      url,
    })
    hops.push(created)
    let answer: { code?: unknown; error?: unknown } = {}
    try {
      answer = JSON.parse(text) as typeof answer
    } catch {
      // not JSON: the error below quotes the text
    }
    if (typeof answer.code !== 'string')
      return {
        error: `The front door answered ${created.status}: ${JSON.stringify(answer.error ?? text).slice(0, 200)}`,
        hops,
      }
    code = answer.code
  }
  if (!code || !/^[\w-]{1,64}$/.test(code)) return { error: 'Not a code' }
  const followed: Hop & { text?: string } = await hop(
    topology,
    'GET',
    `/${code}`,
  )
  delete followed.text
  hops.push(followed)
  return { code, hops, nodes: [...new Set(hops.flatMap((h) => h.nodes))] }
}
