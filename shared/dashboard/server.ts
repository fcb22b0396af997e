// The dashboard `npm start` serves beside the front door: the running
// topology drawn by tier, live numbers pushed to the page once a second
// (Server-Sent Events), a request tracer, and chaos buttons. It lives in the
// launcher's process, so a kill or a restart goes through the launcher that
// owns every node, and Ctrl-C still stops them all.
//
// Safety, since a page that can kill processes is a target: it listens on
// 127.0.0.1 only; it answers only requests whose Host is a loopback name (a
// DNS-rebinding page reaches us under its own name); every action and the
// event stream need this run's token, which only our own page gets; a
// request from another Origin is refused, and the page may not be framed.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { join } from 'node:path'
import type { RunningNode } from '../launcher'
import { LOOPBACK, listen, type Handle } from '../net'
import type { Topology } from '../topology'
import { burst, burstPlan, type Burst } from './burst'
import { createSampler } from './sampler'
import { trace } from './trace'

export interface DashboardOptions {
  nodes: RunningNode[]
  /** The topology as the launcher last wrote it. */
  topology: () => Topology
  /** Tells the launcher the nodes changed (it rewrites the topology file). */
  changed: () => void
  port?: number
}

export interface Dashboard extends Handle {
  token: string
}

const STATIC: Record<string, string> = {
  '/dashboard.js': 'text/javascript; charset=utf-8',
  '/dashboard.css': 'text/css; charset=utf-8',
}
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]'])

export async function startDashboard(
  options: DashboardOptions,
): Promise<Dashboard> {
  const token = randomBytes(24).toString('base64url')
  const expected = Buffer.from(token)
  const hasToken = (given: string | null | undefined) => {
    const buffer = Buffer.from(given ?? '')
    return (
      buffer.length === expected.length && timingSafeEqual(buffer, expected)
    )
  }
  const sampler = createSampler(options.nodes, options.topology)
  let running: Burst | undefined
  let port = 0

  // Host: a loopback name with our port. Origin, when sent: the same.
  const isLoopback = (host: string | undefined) => {
    const match = /^(.+):(\d+)$/.exec(host ?? '')
    return !!match && LOOPBACK_NAMES.has(match[1]!) && Number(match[2]) === port
  }
  const sameOrigin = (origin: string | undefined) =>
    origin === undefined ||
    (origin.startsWith('http://') && isLoopback(origin.slice(7)))

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (!isLoopback(req.headers.host))
      return reply(res, 403, { error: 'Only loopback names may reach this' })
    if (!sameOrigin(req.headers.origin))
      return reply(res, 403, {
        error: 'Requests from another origin are refused',
      })
    const url = new URL(req.url ?? '/', 'http://dashboard')
    if (req.method === 'GET' && url.pathname === '/') return page(res, token)
    if (req.method === 'GET' && Object.hasOwn(STATIC, url.pathname))
      return asset(res, url.pathname)
    if (req.method === 'GET' && url.pathname === '/events') {
      if (!hasToken(url.searchParams.get('token')))
        return reply(res, 401, { error: "This run's token is required" })
      return stream(req, res)
    }
    if (req.method !== 'POST' || !url.pathname.startsWith('/api/'))
      return reply(res, 404, { error: 'No such page' })
    if (!hasToken(req.headers['x-dashboard-token'] as string | undefined))
      return reply(res, 401, { error: "This run's token is required" })
    const body = await readJson(req)
    if (body === undefined)
      return reply(res, 400, { error: 'The body must be a JSON object' })
    return act(url.pathname, body, res)
  }

  async function act(
    path: string,
    body: Record<string, unknown>,
    res: ServerResponse,
  ) {
    const chaos = /^\/api\/nodes\/([\w.-]+)\/(kill|restart)$/.exec(path)
    if (chaos) {
      const node = options.nodes.find((n) => n.name === chaos[1])
      if (!node) return reply(res, 404, { error: `No node named ${chaos[1]}` })
      if (chaos[2] === 'kill') await node.kill()
      else await node.restart()
      options.changed()
      return reply(res, 200, { name: node.name, pid: node.pid, up: node.alive })
    }
    if (path === '/api/trace') {
      const { url, code } = body
      if (typeof url !== 'string' && typeof code !== 'string')
        return reply(res, 400, { error: 'Give a url to shorten or a code' })
      if (typeof code === 'string' && !/^[\w-]{1,64}$/.test(code))
        return reply(res, 400, { error: 'code: letters, digits, - and _' })
      const result = await trace(options.topology(), {
        url: typeof url === 'string' ? url : undefined,
        code: typeof code === 'string' ? code : undefined,
      }).catch((error: Error) => ({
        error: `The front door did not answer (${error.message})`,
      }))
      return reply(res, 'hops' in result ? 200 : 502, result)
    }
    if (path === '/api/burst') {
      if (running && !running.done)
        return reply(res, 409, { error: 'A burst is already running' })
      // The same plan and the same burst as `npm run chaos -- stepNN burst`.
      const plan = burstPlan(body)
      if ('error' in plan) return reply(res, 400, plan)
      running = burst(options.topology().frontDoor, plan)
      sampler.follow(running)
      return reply(res, 202, { requests: plan.requests, path: running.path })
    }
    return reply(res, 404, { error: 'No such action' })
  }

  // One event a second to every open page, from one shared sampler. The
  // first one is fresh, with the front door's last minute: a sample taken
  // for this page, or one the open pages got less than a second ago.
  function stream(req: IncomingMessage, res: ServerResponse) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    })
    res.flushHeaders() // the page is connected before its first frame
    const send = (data: object) =>
      res.write(`data: ${JSON.stringify(data)}\n\n`)
    const unsubscribe = sampler.subscribe(send)
    req.on('close', unsubscribe)
  }

  const server = await listen(
    createServer((req, res) => {
      handle(req, res).catch((error: unknown) =>
        reply(res, 500, { error: (error as Error).message }),
      )
    }),
    options.port ?? 0,
    LOOPBACK,
  )
  port = new URL(server.url).port ? Number(new URL(server.url).port) : 80
  return {
    url: server.url,
    token,
    close: async () => {
      sampler.stop()
      running?.stop()
      await server.close()
    },
  }
}

const SECURITY = {
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
}

function page(res: ServerResponse, token: string) {
  const html = readFileSync(join(__dirname, 'page.html'), 'utf8').replace(
    '{{token}}',
    token,
  )
  res.writeHead(200, {
    ...SECURITY,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy':
      "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  })
  res.end(html)
}

function asset(res: ServerResponse, path: string) {
  res.writeHead(200, { ...SECURITY, 'Content-Type': STATIC[path]! })
  res.end(readFileSync(join(__dirname, path.slice(1))))
}

async function readJson(
  req: IncomingMessage,
): Promise<Record<string, unknown> | undefined> {
  let text = ''
  for await (const chunk of req) {
    text += chunk
    if (text.length > 10_000) return undefined
  }
  if (text === '') return {}
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function reply(res: ServerResponse, status: number, body: object) {
  if (res.headersSent) return
  res.writeHead(status, { ...SECURITY, 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}
