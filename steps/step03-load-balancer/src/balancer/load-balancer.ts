// The load balancer: one address in front of several app servers. It streams
// each request to a server the policy picks, retries where that is safe, and
// answers 502/504 itself when no server can. Plain node:http, no framework:
// a proxy must not parse or buffer the bodies it passes on.
import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { listen, type Handle } from '../../../../shared/net'
import { metricsOfProcess } from '../../../../shared/process-stats'
import { createPool, type PolicyName, type Pool } from './balancing-policy'
import { startHealthChecks, type HealthCheckOptions } from './health-checks'
import { forwardedRawHeaders, withoutHopByHopRaw } from './proxy-headers'
import { createRateLimiter, type RateLimitOptions } from './rate-limit'

export interface LoadBalancerOptions {
  name: string
  port?: number
  host?: string
  servers: string[]
  policy?: PolicyName
  rise?: number
  fall?: number
  healthCheck?: Partial<HealthCheckOptions>
  /** How long one attempt may go without any activity (connect, headers, body). */
  timeoutMs?: number
  /** Off unless given. */
  rateLimit?: RateLimitOptions
  log?: (line: string) => void
}

type Failure = 'refused' | 'reset' | 'timeout' | 'client-gone'

// What may follow the method: a path and query of visible ASCII. Node would
// refuse anything else as it sends, and that is the client's mistake.
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/

/** The path and query to send on, or undefined for a target we refuse. */
export function pathOf(target: string | undefined): string | undefined {
  if (target && ORIGIN_FORM.test(target)) return target
  // Absolute-form (http://host/path), as proxies are sent: its path only.
  if (target && /^https?:\/\//i.test(target) && URL.canParse(target)) {
    const url = new URL(target)
    const path = url.pathname + url.search
    return ORIGIN_FORM.test(path) ? path : undefined
  }
  return undefined
}

export async function startLoadBalancer(
  options: LoadBalancerOptions,
): Promise<Handle & { pool: Pool }> {
  if (options.servers.length === 0)
    throw new TypeError('LoadBalancerOptions.servers is empty')
  const log = options.log ?? ((line: string) => console.log(line))
  const addresses = new Map(
    options.servers.map((server) => {
      if (!URL.canParse(server))
        throw new TypeError(
          `LoadBalancerOptions.servers: "${server}" is not a URL`,
        )
      const { hostname, port } = new URL(server)
      return [server, { host: hostname, port: Number(port) || 80 }]
    }),
  )
  const rise = options.rise ?? 2
  const fall = options.fall ?? 3
  const pool = createPool(options.servers, {
    policy: options.policy ?? 'round-robin',
    rise,
    fall,
  })
  const checks: HealthCheckOptions = {
    path: '/healthz',
    intervalMs: 1000,
    timeoutMs: 500,
    ...options.healthCheck,
  }
  const stopChecks = startHealthChecks(pool, checks, log)
  // Attempts each server failed (refused, reset, timed out; a GET then went
  // to the next server), counted only on a failure: nothing is added to
  // the path of a good request.
  const failed = new Map<string, number>()
  const timeoutMs = options.timeoutMs ?? 5000
  const limit = options.rateLimit && createRateLimiter(options.rateLimit)
  // Trade-off: reused connections save a handshake per request; idle ones are
  // closed after timeoutMs (5 s), long before the app servers' own keep-alive
  // timeout, so we never send on a socket the server is closing. One timeout
  // for idle and busy sockets: Node then need not re-arm a socket's timer
  // for every request it carries (a few percent of the balancer's CPU).
  const agent = new Agent({ keepAlive: true, timeout: timeoutMs })

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const client = req.socket.remoteAddress ?? 'unknown'
    const wait = limit ? limit(client) : 0
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait))
      return sendError(res, 429, 'rate_limited', 'Too many requests; slow down')
    }
    // The one path the balancer answers itself, as NGINX's stub_status:
    // what this process costs, and its view of each server (HAProxy's stats
    // page): up, or down (ejected: no request goes to it), with the checks
    // in a row that passed or failed. Every other path goes to a server.
    if (req.url === '/_lb/metrics' && req.method === 'GET')
      return sendJson(res, 200, {
        node: options.name,
        process: metricsOfProcess(req.socket.localPort),
        health: { rise, fall, intervalMs: checks.intervalMs },
        servers: pool.servers().map(({ url, up, streak, inFlight }) => ({
          url,
          state: up ? 'up' : 'down',
          passedChecks: Math.max(streak, 0),
          failedChecks: Math.max(-streak, 0),
          failedAttempts: failed.get(url) ?? 0,
          inFlight,
        })),
      })
    // Never resolve the target against a server's URL: `//host:port/x` would
    // replace the server with any address the client names (an open proxy).
    const path = pathOf(req.url)
    if (!path)
      return sendError(res, 400, 'bad_target', 'Send a path, like /abc1234')
    // NGINX's rule: an idempotent request may go to the next server after any
    // failure; a POST only when it never reached a server (refused).
    const idempotent = req.method === 'GET' || req.method === 'HEAD'
    const tried = new Set<string>()
    let failure: Failure | undefined
    for (let server = pool.pick(); server; server = pool.pick(tried)) {
      tried.add(server)
      failure = await forward(req, res, server, path, client)
      // Done, or nobody is left to answer: no ejection, no retry.
      if (!failure || failure === 'client-gone') return
      failed.set(server, (failed.get(server) ?? 0) + 1)
      // Only a server that cannot be reached at its own address is ejected:
      // a reset or a timeout may be this request's doing, and the health
      // checks judge the server soon enough.
      if (failure === 'refused') {
        pool.eject(server)
        log(`${server} is DOWN (${failure})`)
      }
      if (!idempotent && failure !== 'refused') break
    }
    if (failure === 'timeout')
      return sendError(
        res,
        504,
        'gateway_timeout',
        'No app server answered in time',
      )
    if (failure)
      return sendError(
        res,
        502,
        'bad_gateway',
        'The app server failed to answer',
      )
    sendError(res, 502, 'no_server_available', 'No app server is up')
  }

  // Resolves undefined once a response is under way, or with the failure
  // that stopped this attempt before any byte of a response was sent.
  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    server: string,
    path: string,
    client: string,
  ) {
    return new Promise<Failure | undefined>((resolve) => {
      const { host, port } = addresses.get(server)!
      const upstream = request({
        host,
        port,
        path,
        method: req.method,
        headers: forwardedRawHeaders(req, client),
        agent,
        timeout: timeoutMs,
      })
      pool.started(server)
      let inFlight = true
      const finished = () => {
        if (inFlight) pool.finished(server)
        inFlight = false
      }
      // Only this attempt's first failure counts: a late error of an
      // abandoned attempt must not touch the response of the next one.
      let state: 'pending' | 'failed' | 'answering' = 'pending'
      const fail = (failure: Failure) => {
        finished()
        if (state === 'answering') res.destroy() // mid-response: too late to retry
        if (state !== 'pending') return
        state = 'failed'
        resolve(failure)
      }
      upstream.on('timeout', () => {
        fail('timeout')
        upstream.destroy()
      })
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        fail(error.code === 'ECONNREFUSED' ? 'refused' : 'reset')
      })
      // A request without a body (no Content-Length, no Transfer-Encoding:
      // a GET) goes at once, whole. A body is sent only once connected: a
      // refused connection has then consumed nothing of either, and the same
      // request can go to the next server.
      if (hasNoBody(req)) upstream.end()
      else
        upstream.on('socket', (socket) => {
          const send = () => req.pipe(upstream)
          if (socket.connecting) socket.once('connect', send)
          else send()
        })
      upstream.on('response', (answer) => {
        if (state !== 'pending') {
          answer.resume() // an abandoned attempt answered late: discard it
          return
        }
        state = 'answering'
        res.writeHead(
          answer.statusCode ?? 502,
          withoutHopByHopRaw(answer.rawHeaders),
        )
        answer.pipe(res)
        // The app server died mid-body: pipe() would leave the client waiting.
        answer.on('close', () => answer.complete || res.destroy())
        resolve(undefined)
      })
      // After the answer's last byte, or when the client went away first.
      res.on('close', () => {
        finished()
        if (res.writableFinished) return
        // The client went away: not the app server's fault.
        if (state === 'pending') {
          state = 'failed'
          resolve('client-gone')
        }
        upstream.destroy()
      })
    })
  }

  const server = await listen(
    createServer((req, res) => {
      // A bug in one request must not take the balancer down with it.
      handle(req, res).catch((error: unknown) => {
        console.error(error)
        sendError(res, 500, 'internal', 'The load balancer failed')
      })
    }),
    options.port,
    options.host,
  )
  return {
    url: server.url,
    pool,
    close: async () => {
      stopChecks()
      await server.close()
      agent.destroy()
    },
  }
}

function hasNoBody(req: IncomingMessage) {
  const { headers } = req
  return (
    headers['content-length'] === undefined &&
    headers['transfer-encoding'] === undefined
  )
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
) {
  sendJson(res, status, { error: { code, message } })
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent) return
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'X-Served-By': 'load-balancer',
  })
  res.end(JSON.stringify(body))
}
