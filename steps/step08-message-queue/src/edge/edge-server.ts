// An edge server of the CDN: a reverse proxy near the users that keeps
// copies of what the origin allows (by HTTP's own rules, see freshness.ts)
// and answers from them, so only the first request for an object pays the
// long way to the origin. Concurrent misses for one object make one origin
// request (collapsing); a stale copy is revalidated with a conditional
// request, served at once while it is refreshed (stale-while-revalidate), or
// served while the origin is down (stale-if-error). Everything else passes
// straight through. Trade-off: a copy may be up to its lifetime old; what
// must never be stale (redirects that count clicks, the API) is not cached.
import {
  Agent,
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { pathOf } from '../balancer/load-balancer'
import { forwardedHeaders, withoutHopByHop } from '../balancer/proxy-headers'
import {
  createRateLimiter,
  type RateLimitOptions,
} from '../balancer/rate-limit'
import { createMetrics } from '../common/metrics'
import { decide, type Verdict } from './freshness'
import { createHttpCache, type Entry } from './http-cache'
import { flat, originFetch, type Fetched } from './origin-fetch'
import { adminRoutes, sendError } from './purge'

export interface EdgeServerOptions {
  /** e.g. "edge-us": in X-Edge and Cache-Status. */
  name: string
  port?: number
  host?: string
  /** The origin, as this edge reaches it (across the WAN). */
  origin: string
  /** Where this edge stands: sent on as X-Client-Region, so that the
   * global balancer picks the nearest data center for its clients. */
  region?: string
  /** The secret a purge must carry as `Authorization: Bearer <token>`. */
  purgeToken: string
  maxBytes?: number
  maxEntryBytes?: number
  /** Only these paths are looked up; the rest passes straight through. */
  cachePaths?: RegExp
  /** Per client (by its address). On by default; false turns it off. */
  rateLimit?: RateLimitOptions | false
  /** Tests only: the request header that names the client. */
  clientHeader?: string
  timeoutMs?: number
  now?: () => number
}

export async function startEdgeServer(
  options: EdgeServerOptions,
): Promise<Handle> {
  if (options.purgeToken.length < 16)
    throw new TypeError(
      'EdgeServerOptions.purgeToken must be at least 16 characters',
    )
  const { name, now = Date.now } = options
  const maxEntryBytes = options.maxEntryBytes ?? 1024 * 1024
  const cache = createHttpCache({
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    maxEntryBytes,
  })
  const cachePaths = options.cachePaths ?? /^\/$|^\/static\//
  const limit =
    options.rateLimit === false
      ? undefined
      : createRateLimiter(
          options.rateLimit ?? { capacity: 200, refillPerSecond: 100 },
        )
  const origin = new URL(options.origin)
  const agent = new Agent({ keepAlive: true, timeout: 2000 })
  const timeoutMs = options.timeoutMs ?? 10_000
  const metrics = createMetrics()
  // The edge, not the client, says where the client is.
  const region = options.region ? { 'x-client-region': options.region } : {}
  const fetchOnce = originFetch({
    origin,
    agent,
    cache,
    maxEntryBytes,
    timeoutMs,
    now,
    metrics,
    headers: region,
  })
  const admin = adminRoutes(name, options.purgeToken, cache, metrics)

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = pathOf(req.url)
    if (!path)
      return sendError(res, 400, 'bad_target', 'Send a path, like /abc1234')
    res.setHeader('X-Edge', name)
    if (path.startsWith('/_edge/')) return admin(req, res, path)
    const client = options.clientHeader
      ? String(req.headers[options.clientHeader] ?? '')
      : (req.socket.remoteAddress ?? '')
    const wait = limit?.(client) ?? 0
    if (wait > 0) {
      metrics.count('edge.rate_limited')
      res.setHeader('Retry-After', String(wait))
      return sendError(res, 429, 'rate_limited', 'Too many requests; slow down')
    }
    // Not looked up at all: a method that changes things, a request that
    // speaks for one user, or a path the origin answers for each request.
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return pass(req, res, path, 'method')
    if (req.headers.authorization || !cachePaths.test(path.split('?')[0]!))
      return pass(req, res, path, 'bypass')
    const headers = flat(req.headers)
    const found = cache.lookup(path, headers)
    if (!('entry' in found)) {
      const fetched = await fetchOnce(path, headers)
      return answer(req, res, path, fetched, `fwd=${found.miss}`)
    }
    const verdict = decide(found.entry, headers, now())
    if (verdict.decision === 'fresh')
      return serve(req, res, found.entry, 'HIT', verdict)
    if (verdict.decision === 'stale-while-revalidate') {
      void fetchOnce(path, headers, found.entry) // refresh; nobody waits
      return serve(
        req,
        res,
        found.entry,
        'STALE',
        verdict,
        'stale-while-revalidate',
      )
    }
    const fetched = await fetchOnce(path, headers, found.entry)
    if (
      fetched.kind === 'failed' ||
      (fetched.kind === 'not-stored' && fetched.status >= 500)
    )
      if (verdict.servableOnError)
        return serve(req, res, found.entry, 'STALE', verdict, 'stale-if-error')
    return answer(req, res, path, fetched, 'fwd=stale')
  }

  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    fetched: Fetched & { collapsed?: boolean },
    forward: string,
  ) {
    const collapsed = fetched.collapsed ? '; collapsed' : ''
    if (fetched.kind === 'stored') {
      const verdict = decide(fetched.entry, {}, now())
      const label = fetched.status === 304 ? 'REVALIDATED' : 'MISS'
      const status = `${forward}; fwd-status=${fetched.status}${collapsed}${fetched.status === 304 ? '' : '; stored'}`
      return serve(req, res, fetched.entry, label, verdict, undefined, status)
    }
    if (fetched.kind === 'failed') {
      res.setHeader(
        'Cache-Status',
        `${name}; ${forward}; detail=origin-unreachable`,
      )
      return fetched.status === 504
        ? sendError(
            res,
            504,
            'gateway_timeout',
            'The origin did not answer in time',
          )
        : sendError(res, 502, 'bad_gateway', 'The origin cannot be reached')
    }
    // A copy that is not for sharing (or too big to keep) is not handed to
    // the requests that waited: each asks the origin for its own.
    if (fetched.kind === 'too-big' || collapsed)
      return pass(req, res, path, 'miss')
    metrics.count('edge.miss')
    res.writeHead(fetched.status, {
      ...fetched.headers,
      'Cache-Status': `${name}; ${forward}; fwd-status=${fetched.status}`,
      'X-Edge-Cache': 'MISS',
    })
    res.end(req.method === 'HEAD' ? undefined : fetched.body)
  }

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    entry: Entry,
    label: 'HIT' | 'STALE' | 'MISS' | 'REVALIDATED',
    verdict: Verdict,
    detail?: string,
    forward?: string,
  ) {
    metrics.count(`edge.${label.toLowerCase()}`)
    const ttl = verdict.lifetime - verdict.age
    const status = forward
      ? `${name}; ${forward}`
      : `${name}; hit; ttl=${ttl}${detail ? `; detail=${detail}` : ''}`
    const headers: OutgoingHttpHeaders = {
      ...entry.headers,
      age: String(verdict.age),
      'cache-status': status,
      'x-edge-cache': label,
    }
    // The client's own conditional request, answered here.
    if (notModified(req.headers, entry)) {
      delete headers['content-length']
      res.writeHead(304, headers)
      return void res.end()
    }
    res.writeHead(entry.status, headers)
    res.end(req.method === 'HEAD' ? undefined : entry.body)
  }

  // Everything that is not looked up streams through, as the balancer does.
  function pass(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    why: string,
  ) {
    metrics.count('edge.pass')
    const outgoing = request({
      host: origin.hostname,
      port: Number(origin.port) || 80,
      path,
      method: req.method,
      agent,
      headers: {
        ...forwardedHeaders(req.headers, req.socket.remoteAddress ?? 'unknown'),
        ...region,
      },
    })
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error('timeout')))
    outgoing.on('error', () =>
      sendError(res, 502, 'bad_gateway', 'The origin cannot be reached'),
    )
    outgoing.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, {
        ...withoutHopByHop(answer.headers),
        'cache-status': `${name}; fwd=${why}; fwd-status=${answer.statusCode}`,
        'x-edge-cache': 'PASS',
      })
      answer.pipe(res)
      answer.on('close', () => answer.complete || res.destroy())
    })
    res.on('close', () => res.writableFinished || outgoing.destroy())
    req.pipe(outgoing)
  }

  const server = await listen(
    createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        console.error(error)
        sendError(res, 500, 'internal', 'The edge failed')
      })
    }),
    options.port,
    options.host,
  )
  return {
    url: server.url,
    close: async () => {
      await server.close()
      agent.destroy()
    },
  }
}

function notModified(request: IncomingHttpHeaders, entry: Entry): boolean {
  const tags = request['if-none-match']
  if (tags !== undefined) {
    const etag = entry.headers.etag
    return (
      etag !== undefined &&
      (tags.trim() === '*' ||
        tags.split(',').some((t) => weak(t) === weak(etag)))
    )
  }
  const since = Date.parse(request['if-modified-since'] ?? '')
  const modified = Date.parse(entry.headers['last-modified'] ?? '')
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since
}

// If-None-Match compares weakly (RFC 9110, 13.1.2).
const weak = (tag: string) => tag.trim().replace(/^W\//, '')
