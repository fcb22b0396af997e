// The edge's freshness decision, by HTTP's own rules (RFC 9111, with RFC
// 5861's stale-while-revalidate and stale-if-error): may a response be
// stored at all, how long does it stay fresh, how old is a stored copy now,
// and so may it be served as it is, served stale while a fresh copy is
// fetched, or must it be revalidated first? Pure functions of the response,
// the request and the clock: the edge server does the rest.
// @skeleton
import { todo } from '../../../../shared/todo'
// @end

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
  // @solution
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
  // @skeleton
  // 🐨 Answer false when: the method is not GET or HEAD; no-store is in the
  //    request's or the response's Cache-Control; the response is private,
  //    sets a cookie (Set-Cookie), or says Vary: *; the request carries
  //    Authorization and the response has none of public, s-maxage,
  //    must-revalidate. Else true when the response has explicit freshness
  //    (public, s-maxage, max-age or Expires) or a status code in
  //    HEURISTICALLY_CACHEABLE.
  // 💰 cacheControl(header) turns a Cache-Control header into a Map.
  // 🦉 A shared cache that stores a private answer shows one user's page to
  //    the next user.
  return todo('isStorable()', 'Hint 1: what may be stored')
  // @end
}

/** How long the response is fresh, in seconds (RFC 9111, 4.2.1 and 4.2.2). */
export function freshnessLifetime(response: {
  status: number
  headers: Headers
}): number {
  // @solution
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
  // @skeleton
  // 🐨 Return s-maxage if present (a 0 counts), else max-age, else Expires
  //    minus Date (in whole seconds, 0 when either does not parse, never
  //    negative). With none of them, a heuristically cacheable response
  //    with Last-Modified stays fresh for 10% of (Date - Last-Modified);
  //    anything else, 0.
  // 💰 seconds(directives, 'max-age') gives a directive's number, or
  //    undefined; Date.parse() reads an HTTP date, or answers NaN.
  // 🦉 Only shared caches read s-maxage: the origin can give the CDN a
  //    lifetime of its own, longer or shorter than the browsers'.
  return todo('freshnessLifetime()', 'Hint 2: how long it stays fresh')
  // @end
}

/** The copy's age now, in seconds (RFC 9111, 4.2.3). */
export function currentAge(stored: StoredResponse, now: number): number {
  // @solution
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
  // @skeleton
  // 🐨 RFC 9111, 4.2.3: apparent_age = max(0, response_time - Date);
  //    response_delay = response_time - request_time; corrected_age_value =
  //    Age + response_delay; corrected_initial_age = max(apparent_age,
  //    corrected_age_value); current_age = corrected_initial_age +
  //    (now - response_time). Times are in ms: return whole seconds, never
  //    negative.
  // 💰 A missing Age header counts as 0 (Number(undefined) is NaN), and so
  //    does the apparent age when Date does not parse.
  // 🦉 The origin's clock and ours differ: Age counts from both sides so
  //    that a copy is never younger than it is.
  return todo('currentAge()', 'Hint 3: how old a copy is')
  // @end
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
  // @solution
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
  // @skeleton
  // 🐨 A copy is fresh while age < lifetime. Return decision 'revalidate'
  //    when the response or the request says no-cache, or the request's
  //    max-age is below the age; 'fresh' while fresh; when stale,
  //    'stale-while-revalidate' if it is stale by at most the response's
  //    stale-while-revalidate seconds, else 'revalidate'. servableOnError:
  //    stale by at most its stale-if-error seconds, and never for no-cache.
  //    must-revalidate, proxy-revalidate and s-maxage forbid any stale
  //    serving.
  // 🦉 stale-while-revalidate hides the origin's latency from every client;
  //    stale-if-error keeps the site up while the origin is down.
  return todo('decide()', 'Hint 4: fresh, stale or revalidate')
  // @end
}
