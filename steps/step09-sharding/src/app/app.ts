// The URL shortener's HTTP interface. createApp() only wires routes to a
// LinkStore: no ports, no files, no environment, so every step can reuse it
// and tests can build one with an in-memory store.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'
import type { IncomingMessage } from 'node:http'
import express from 'express'
import {
  HttpError,
  badRequest,
  requireJson,
  sendError,
} from '../common/http-error'
import {
  CodeTakenError,
  type FindOptions,
  type Link,
  type LinkStore,
} from './link-store'
import { generateCode, validateAlias, validateUrl, expiryFrom } from './links'
import { createMetrics, type Metrics } from '../common/metrics'
import { assetRoutes } from './assets'
import type { EventType } from '../queue/events'
import { allowOnly } from './methods'
import { metricsOfProcess } from '../../../../shared/process-stats'

export interface AppDeps {
  store: LinkStore
  /** Shown in X-Served-By and /healthz, e.g. "app-1". */
  node: string
  /** Shown in X-Region: the data center that answered. */
  region?: string
  /** Where short URLs point: the front door clients use (PUBLIC_URL). Never
   * the request's Host, which any client can set to anything. */
  publicUrl: string
  /** Every other address of this system that answers redirects: a link to
   * any of them would send its clicks round in a loop. */
  selfUrls?: string[]
  metrics?: Metrics
  now?: () => number
  /** Where events go: a click, a create and a delete each publish one. */
  events: {
    emit(type: EventType, code: string, req: IncomingMessage): void
    /** How long the oldest click not yet counted has waited, in ms, as
     * last measured; null when unknown (the queues are out of reach). */
    clicksLagMs(): number | null
  }
  /** How long shared caches may keep the page before they revalidate it. */
  pageMaxAgeSeconds?: number
  /** Totals that no one shard knows: GET /api/stats asks every shard. */
  stats?: () => Promise<object>
}

const MAX_CODE_ATTEMPTS = 5
const PUBLIC_DIR = join(__dirname, 'public')

export function createApp(deps: AppDeps): express.Express {
  const { store, node, metrics = createMetrics(), now = Date.now } = deps
  const publicUrl = deps.publicUrl.replace(/\/+$/, '')
  const selfUrls = [publicUrl, ...(deps.selfUrls ?? [])]
  const app = express()
  app.disable('x-powered-by')

  app.use((req, res, next) => {
    res.set('X-Served-By', node)
    if (deps.region) res.set('X-Region', deps.region)
    res.set('X-Content-Type-Options', 'nosniff')
    metrics.count('http.requests')
    res.on('finish', () => metrics.count(`http.responses.${res.statusCode}`))
    next()
  })

  app.use(assetRoutes(PUBLIC_DIR, deps.pageMaxAgeSeconds ?? 10))
  // Answers for one client at one moment: no cache may keep them.
  app.use('/api', (req, res, next) => {
    res.set('Cache-Control', 'no-store')
    next()
  })
  app.get('/healthz', (req, res) => {
    res.json({ status: 'ok', node })
  })
  app.get('/metrics', (req, res) => {
    res.json({
      node,
      counters: metrics.snapshot(),
      process: metricsOfProcess(req.socket.localPort),
    })
  })
  const { stats } = deps
  if (stats)
    app.get('/api/stats', async (req, res) => {
      res.json(await stats())
    })

  app.post(
    '/api/links',
    requireJson,
    express.json({ limit: '8kb' }),
    async (req, res) => {
      const body: unknown = req.body
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw badRequest('invalid_body', 'The body must be a JSON object')
      }
      const input = body as Record<string, unknown>
      const url = validateUrl(input.url, selfUrls)
      const createdAt = now()
      const expiresAt = expiryFrom(input.expiresInSeconds, createdAt)
      const deleteToken = randomBytes(24).toString('base64url')
      const link = {
        url,
        createdAt,
        expiresAt,
        deleteTokenHash: hashToken(deleteToken),
      }
      const code =
        input.alias === undefined
          ? await insertWithNewCode(store, link)
          : await insertWithAlias(store, link, validateAlias(input.alias))
      metrics.count('links.created')
      deps.events.emit('link.created', code, req)
      res.status(201).json({
        code,
        shortUrl: `${publicUrl}/${code}`,
        url,
        createdAt: link.createdAt,
        expiresAt,
        deleteToken,
      })
    },
  )

  app.get('/api/links/:code', async (req, res) => {
    const link = await findLive(store, req.params.code, now(), { fresh: true })
    const { code, url, createdAt, expiresAt, clicks } = link
    // Clicks are counted later, by a worker: say how far behind they may be.
    const clicksLagMs = deps.events.clicksLagMs()
    res.json({ code, url, createdAt, expiresAt, clicks, clicksLagMs })
  })

  app.delete('/api/links/:code', async (req, res) => {
    const link = await findLive(store, req.params.code, now())
    const token = /^Bearer (\S+)$/.exec(req.get('Authorization') ?? '')?.[1]
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer')
      throw new HttpError(
        401,
        'missing_token',
        'Send Authorization: Bearer <deleteToken>',
      )
    }
    if (!sameHash(hashToken(token), link.deleteTokenHash)) {
      throw new HttpError(
        403,
        'wrong_token',
        'This delete token does not match the link',
      )
    }
    await store.markDeleted(link.code, now())
    metrics.count('links.deleted')
    deps.events.emit('link.deleted', link.code, req)
    res.status(204).end()
  })

  app.get('/:code', async (req, res) => {
    const link = await findLive(store, req.params.code, now())
    // HEAD asks about a link without following it: not a click. A click
    // is a message now: the redirect answers without waiting for any write.
    if (req.method === 'GET') deps.events.emit('link.clicked', link.code, req)
    metrics.count('links.redirects')
    // Checked again on the way out: only http(s), whatever the store held.
    if (!/^https?:\/\//i.test(link.url))
      throw new HttpError(410, 'blocked', 'This link cannot be followed')
    // Trade-off: 302 + no-store sends every click through us, so clicks are
    // counted and a deleted link stops working; a 301 would be cached forever.
    res.set('Cache-Control', 'no-store').redirect(302, link.url)
  })

  allowOnly(app, '/', ['GET', 'HEAD'])
  allowOnly(app, '/healthz', ['GET', 'HEAD'])
  allowOnly(app, '/metrics', ['GET', 'HEAD'])
  if (stats) allowOnly(app, '/api/stats', ['GET', 'HEAD'])
  allowOnly(app, '/api/links', ['POST'])
  allowOnly(app, '/api/links/:code', ['GET', 'HEAD', 'DELETE'])
  allowOnly(app, '/:code', ['GET', 'HEAD'])
  app.use((req, res) => {
    throw new HttpError(
      404,
      'not_found',
      `Nothing at ${req.method} ${req.path}`,
    )
  })
  // Registered last: error middleware only receives errors of what came before.
  app.use(sendError)
  return app
}

async function insertWithNewCode(
  store: LinkStore,
  link: Omit<Link, 'code' | 'clicks' | 'deletedAt'>,
) {
  // Insert and let the unique constraint catch a collision; a lookup first
  // would race with a concurrent insert of the same code.
  for (let attempt = 1; attempt <= MAX_CODE_ATTEMPTS; attempt++) {
    const code = generateCode()
    try {
      await store.insert({ ...link, code })
      return code
    } catch (error: unknown) {
      if (!(error instanceof CodeTakenError)) throw error
    }
  }
  throw new HttpError(
    503,
    'code_space_busy',
    'Could not find a free code; try again',
  )
}

async function insertWithAlias(
  store: LinkStore,
  link: Omit<Link, 'code' | 'clicks' | 'deletedAt'>,
  alias: string,
) {
  try {
    await store.insert({ ...link, code: alias })
    return alias
  } catch (error: unknown) {
    if (error instanceof CodeTakenError) {
      throw new HttpError(409, 'alias_taken', `The alias "${alias}" is taken`)
    }
    throw error
  }
}

async function findLive(
  store: LinkStore,
  code: string,
  now: number,
  options?: FindOptions,
): Promise<Link> {
  const link = await store.find(code, options)
  if (!link)
    throw new HttpError(404, 'not_found', `No link with code "${code}"`)
  if (link.deletedAt !== null)
    throw new HttpError(410, 'deleted', 'This link was deleted')
  if (link.expiresAt !== null && link.expiresAt <= now) {
    throw new HttpError(410, 'expired', 'This link has expired')
  }
  return link
}

// The token has 192 random bits, so a fast hash is enough: there is nothing to
// brute-force. (Passwords, with little entropy, need bcrypt or scrypt.)
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function sameHash(a: string, b: string): boolean {
  return (
    a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
  )
}
