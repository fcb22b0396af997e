// The edge's freshness decision, by HTTP's own rules (RFC 9111, with RFC
// 5861's stale-while-revalidate and stale-if-error): may a response be
// stored at all, how long does it stay fresh, how old is a stored copy now,
// and so may it be served as it is, served stale while a fresh copy is
// fetched, or must it be revalidated first? Pure functions of the response,
// the request and the clock: the edge server does the rest.

/** Header names in lower case; repeated headers joined with ", ". */
export type Headers = Record<string, string | undefined>

export interface StoredResponse {
  status: number
  headers: Headers
  /** When the edge sent the request this answers (ms since the epoch). */
  requestTime: number
  /** When the edge received it (ms since the epoch). */
  responseTime: number
}

export type Decision =
  /** Serve the stored copy as it is. */
  | 'fresh'
  /** Serve the stored copy at once, and refresh it in the background. */
  | 'stale-while-revalidate'
  /** Ask the origin first (a conditional request when the copy allows). */
  | 'revalidate'

export interface Verdict {
  decision: Decision
  /** The Age header to send, in whole seconds. */
  age: number
  /** How long the copy is fresh for, in seconds. */
  lifetime: number
  /** Whether the copy may stand in for an origin that fails (RFC 5861). */
  servableOnError: boolean
}

/** Cache-Control as a map: `max-age=60, public` -> max-age: "60", public: true. */
export function cacheControl(
  value: string | undefined,
): Map<string, string | true> {
  const directives = new Map<string, string | true>()
  for (const part of (value ?? '').split(',')) {
    const [name = '', argument] = part.trim().split('=', 2)
    if (name)
      directives.set(
        name.toLowerCase(),
        argument?.replace(/^"|"$/g, '') ?? true,
      )
  }
  return directives
}

/** A directive's number of seconds, or undefined when absent or malformed. */
export function seconds(directives: Map<string, string | true>, name: string) {
  const value = directives.get(name)
  return typeof value === 'string' && /^\d+$/.test(value)
    ? Number(value)
    : undefined
}

// Status codes a cache may store without explicit freshness (RFC 9110,
// section 15.1: "heuristically cacheable").
export const HEURISTICALLY_CACHEABLE = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
])

/** May a shared cache store this response to this request? (RFC 9111, 3) */
export function isStorable(
  method: string,
  requestHeaders: Headers,
  response: { status: number; headers: Headers },
): boolean {
  const request = cacheControl(requestHeaders['cache-control'])
  const directives = cacheControl(response.headers['cache-control'])
  if (method !== 'GET' && method !== 'HEAD') return false
  // no-store from either side; private: for the browser's cache only.
  if (request.has('no-store') || directives.has('no-store')) return false
  if (directives.has('private')) return false
  // A copy that would hand one user's cookie to the next: never.
  if (response.headers['set-cookie'] !== undefined) return false
  // Vary: * means no request can ever be shown to match it.
  if (response.headers.vary?.trim() === '*') return false
  // An answer to an authenticated request, only when the origin says so
  // (RFC 9111, 3.5).
  if (
    requestHeaders.authorization !== undefined &&
    !['public', 's-maxage', 'must-revalidate'].some((d) => directives.has(d))
  )
    return false
  const explicit =
    directives.has('public') ||
    seconds(directives, 's-maxage') !== undefined ||
    seconds(directives, 'max-age') !== undefined ||
    response.headers.expires !== undefined
  return explicit || HEURISTICALLY_CACHEABLE.has(response.status)
}

/** How long the response is fresh, in seconds (RFC 9111, 4.2.1 and 4.2.2). */
export function freshnessLifetime(response: {
  status: number
  headers: Headers
}): number {
  const directives = cacheControl(response.headers['cache-control'])
  // A shared cache reads s-maxage first, then max-age, then Expires.
  const explicit =
    seconds(directives, 's-maxage') ?? seconds(directives, 'max-age')
  if (explicit !== undefined) return explicit
  const date = Date.parse(response.headers.date ?? '')
  if (response.headers.expires !== undefined) {
    // An Expires that does not parse means "already expired".
    const expires = Date.parse(response.headers.expires)
    return Number.isNaN(expires) || Number.isNaN(date)
      ? 0
      : Math.max(0, Math.floor((expires - date) / 1000))
  }
  // No explicit lifetime: 10% of the time since it last changed.
  const modified = Date.parse(response.headers['last-modified'] ?? '')
  if (!HEURISTICALLY_CACHEABLE.has(response.status) || Number.isNaN(modified))
    return 0
  const since = (Number.isNaN(date) ? Date.now() : date) - modified
  return Math.max(0, Math.floor(since / 10_000))
}

/** The copy's age now, in seconds (RFC 9111, 4.2.3). */
export function currentAge(stored: StoredResponse, now: number): number {
  const ageValue = Number(stored.headers.age ?? 0) || 0
  const date = Date.parse(stored.headers.date ?? '')
  // Clocks disagree: the age is never less than what the Age header says,
  // nor less than the time the Date header shows passed on the way here.
  const apparentAge = Number.isNaN(date)
    ? 0
    : Math.max(0, stored.responseTime - date) / 1000
  const responseDelay = (stored.responseTime - stored.requestTime) / 1000
  const correctedAgeValue = ageValue + responseDelay
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue)
  const residentTime = (now - stored.responseTime) / 1000
  return Math.max(0, Math.floor(correctedInitialAge + residentTime))
}

/** Fresh, servable stale while it is refreshed, or revalidate first? */
export function decide(
  stored: StoredResponse,
  requestHeaders: Headers,
  now: number,
): Verdict {
  const directives = cacheControl(stored.headers['cache-control'])
  const request = cacheControl(requestHeaders['cache-control'])
  const age = currentAge(stored, now)
  const lifetime = freshnessLifetime(stored)
  const staleFor = age - lifetime
  // must-revalidate, proxy-revalidate, and s-maxage (which implies it, RFC
  // 9111 5.2.2.10) forbid serving a stale copy, even on an error.
  const noStale = ['must-revalidate', 'proxy-revalidate', 's-maxage'].some(
    (d) => directives.has(d),
  )
  // no-cache: never without revalidation, so never in place of the origin.
  const servableOnError =
    !noStale &&
    !directives.has('no-cache') &&
    staleFor <= (seconds(directives, 'stale-if-error') ?? -1)
  const verdict = (decision: Decision) => ({
    decision,
    age,
    lifetime,
    servableOnError,
  })
  // no-cache, from the origin or the client: only after revalidation.
  if (directives.has('no-cache') || request.has('no-cache'))
    return verdict('revalidate')
  const requestMaxAge = seconds(request, 'max-age')
  if (requestMaxAge !== undefined && age > requestMaxAge)
    return verdict('revalidate')
  if (staleFor < 0) return verdict('fresh')
  const whileRevalidate = seconds(directives, 'stale-while-revalidate')
  if (!noStale && whileRevalidate !== undefined && staleFor <= whileRevalidate)
    return verdict('stale-while-revalidate')
  return verdict('revalidate')
}
