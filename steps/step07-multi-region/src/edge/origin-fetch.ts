// The edge's way to the origin for what it may keep: one request per object
// at a time (concurrent misses wait for it: request collapsing), its body
// read up to the per-object limit, and stored when HTTP's rules allow. A
// stale copy is asked for conditionally: a 304 refreshes it, no body resent.
import {
  request,
  type Agent,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http'
import { withoutHopByHop } from '../balancer/proxy-headers'
import type { Metrics } from '../common/metrics'
import { isStorable, type Headers } from './freshness'
import { varyNames, type Entry, type HttpCache } from './http-cache'

/** What one origin request brought back, for its caller and its waiters. */
export type Fetched =
  | { kind: 'stored'; entry: Entry; status: number }
  | { kind: 'not-stored'; status: number; headers: Headers; body: Buffer }
  | { kind: 'too-big' }
  | { kind: 'failed'; status: 502 | 504 }

export interface OriginFetchOptions {
  origin: URL
  agent: Agent
  cache: HttpCache
  maxEntryBytes: number
  timeoutMs: number
  now: () => number
  metrics: Metrics
  /** Sent with every request to the origin. */
  headers?: OutgoingHttpHeaders
}

export function originFetch({
  origin,
  agent,
  cache,
  maxEntryBytes,
  timeoutMs,
  now,
  metrics,
  headers: always = {},
}: OriginFetchOptions) {
  // One origin request per object at a time: the others wait for it.
  const inflight = new Map<
    string,
    { fetching: Promise<Fetched>; headers: Headers }
  >()

  // The leader of a collapsed fetch, or a waiter on it. A waiter takes the
  // leader's answer only when the answer's Vary says that they asked for the
  // same variant; otherwise it asks the origin for its own.
  function fetchOnce(
    path: string,
    headers: Headers,
    stale?: Entry,
  ): Promise<Fetched> {
    const running = inflight.get(path)
    if (running) {
      metrics.count('edge.collapsed')
      return running.fetching.then((fetched) =>
        sameVariant(fetched, running.headers, headers)
          ? { ...fetched, collapsed: true }
          : fetchOrigin(path, headers),
      )
    }
    const fetching = fetchOrigin(path, headers, stale).finally(() =>
      inflight.delete(path),
    )
    inflight.set(path, { fetching, headers })
    return fetching
  }

  // One request to the origin, its body kept (up to maxEntryBytes), stored
  // when the rules allow. A 304 to a conditional request refreshes the copy.
  function fetchOrigin(
    path: string,
    headers: Headers,
    stale?: Entry,
  ): Promise<Fetched> {
    metrics.count('edge.origin_requests')
    const conditional: OutgoingHttpHeaders = {}
    if (stale?.headers.etag) conditional['if-none-match'] = stale.headers.etag
    if (stale?.headers['last-modified'])
      conditional['if-modified-since'] = stale.headers['last-modified']
    const requestTime = now()
    return new Promise((resolve) => {
      const outgoing = request({
        host: origin.hostname,
        port: Number(origin.port) || 80,
        path,
        method: 'GET',
        agent,
        headers: { ...lookupHeaders(headers), ...conditional, ...always },
      })
      outgoing.setTimeout(timeoutMs, () => {
        outgoing.destroy()
        resolve({ kind: 'failed', status: 504 })
      })
      outgoing.on('error', () => resolve({ kind: 'failed', status: 502 }))
      outgoing.on('response', (answer) => {
        const length = Number(answer.headers['content-length'] ?? 0)
        if (length > maxEntryBytes) {
          answer.destroy()
          return resolve({ kind: 'too-big' })
        }
        const chunks: Buffer[] = []
        let size = 0
        answer.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > maxEntryBytes) {
            answer.destroy()
            return resolve({ kind: 'too-big' })
          }
          chunks.push(chunk)
        })
        answer.on('error', () => resolve({ kind: 'failed', status: 502 }))
        // A bug below must not leave this object's waiters waiting forever.
        answer.on('end', () => {
          try {
            settle()
          } catch (error: unknown) {
            console.error(error)
            resolve({ kind: 'failed', status: 502 })
          }
        })
        const settle = () => {
          const status = answer.statusCode ?? 502
          const received = flat(
            withoutHopByHop(answer.headers) as IncomingHttpHeaders,
          )
          const responseTime = now()
          if (status === 304 && stale) {
            // RFC 9111, 4.3.4: the 304's headers replace the stored ones.
            const entry = {
              ...stale,
              headers: { ...stale.headers, ...received },
              requestTime,
              responseTime,
            }
            return resolve(keep(path, headers, entry, 304))
          }
          const body = Buffer.concat(chunks)
          const response = { status, headers: received }
          // A part of an object is never kept as the object (RFC 9111, 3.3).
          if (status === 206 || !isStorable('GET', headers, response))
            return resolve({
              kind: 'not-stored',
              status,
              headers: received,
              body,
            })
          const tags = (
            received['cache-tag'] ??
            received['surrogate-key'] ??
            ''
          )
            .split(/[\s,]+/)
            .filter(Boolean)
          resolve(
            keep(
              path,
              headers,
              { ...response, body, tags, requestTime, responseTime },
              status,
            ),
          )
        }
      })
      outgoing.end()
    })
  }

  function keep(
    path: string,
    headers: Headers,
    entry: Entry,
    status: number,
  ): Fetched {
    return cache.store(path, headers, entry)
      ? { kind: 'stored', entry, status }
      : {
          kind: 'not-stored',
          status: entry.status,
          headers: entry.headers,
          body: entry.body,
        }
  }

  return fetchOnce
}

function sameVariant(fetched: Fetched, leader: Headers, waiter: Headers) {
  const answer =
    fetched.kind === 'stored'
      ? fetched.entry.headers
      : fetched.kind === 'not-stored'
        ? fetched.headers
        : {}
  return varyNames(answer.vary).every(
    (name) => name !== '*' && leader[name] === waiter[name],
  )
}

// Header values as one string each, names in lower case (as Node has them).
export function flat(headers: IncomingHttpHeaders): Headers {
  const out: Headers = {}
  for (const [key, value] of Object.entries(headers))
    if (value !== undefined)
      out[key] = Array.isArray(value) ? value.join(', ') : value
  return out
}

// What the edge asks the origin on a client's behalf: the headers that may
// decide the variant, never the client's own conditionals, credentials or
// range (the edge fetches and keeps whole objects), and nothing that speaks
// of a body: the lookup is a GET without one, whatever the client sent.
const NOT_ASKED =
  /^(if-|range$|authorization$|cookie$|connection$|keep-alive$|te$|upgrade$|trailer$|proxy-|content-length$|transfer-encoding$|expect$)/

function lookupHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [key, value] of Object.entries(headers))
    if (!NOT_ASKED.test(key)) out[key] = value
  return out
}
