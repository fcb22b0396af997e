// The edge's own endpoints, under /_edge/ (never passed to the origin):
// POST /_edge/purge drops copies by URL or by tag before they expire, for
// the token holder only; GET /_edge/metrics shows what the edge did.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Metrics } from '../common/metrics'
import type { HttpCache } from './http-cache'
import { metricsOfProcess } from '../../../../shared/process-stats'

export function adminRoutes(
  name: string,
  purgeToken: string,
  cache: HttpCache,
  metrics: Metrics,
) {
  // POST /_edge/purge { "url": "/static/app.css" } or { "tag": "assets" }.
  return async function admin(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ) {
    if (path === '/_edge/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      return res.end(
        JSON.stringify({
          node: name,
          counters: metrics.snapshot(),
          cache: cache.stats(),
          process: metricsOfProcess(req.socket.localPort),
        }),
      )
    }
    if (path !== '/_edge/purge' || req.method !== 'POST')
      return sendError(
        res,
        404,
        'not_found',
        'POST /_edge/purge or GET /_edge/metrics',
      )
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!token) {
      res.setHeader('WWW-Authenticate', 'Bearer')
      return sendError(
        res,
        401,
        'missing_token',
        'A purge needs the purge token',
      )
    }
    const expected = Buffer.from(purgeToken)
    const given = Buffer.from(token)
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return sendError(res, 403, 'wrong_token', 'This is not the purge token')
    const body = await readJson(req)
    const purged =
      typeof body?.url === 'string'
        ? cache.purgeUrl(body.url)
        : typeof body?.tag === 'string'
          ? cache.purgeTag(body.tag)
          : undefined
    if (purged === undefined)
      return sendError(
        res,
        400,
        'invalid_purge',
        'Send { "url": "/path" } or { "tag": "name" }',
      )
    metrics.count('edge.purged', purged)
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end(JSON.stringify({ purged }))
  }
}

function readJson(
  req: IncomingMessage,
): Promise<{ url?: unknown; tag?: unknown } | undefined> {
  return new Promise((resolve) => {
    let text = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      text += chunk
      if (text.length > 10_000) req.destroy()
    })
    req.on('end', () => {
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(undefined)
      }
    })
    req.on('error', () => resolve(undefined))
  })
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
) {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ error: { code, message } }))
}
