// The exercise: the edge's freshness decision. `npm test -- step06` runs
// these against exercises/; each names the section of RFC 9111 (or RFC
// 5861) it checks, and each failure names the hint to ask for.
import { hinted } from '../../../shared/testing/hint'
import { send } from '../../../shared/testing/http'
import { startScriptedOrigin } from './scripted-origin'
import {
  currentAge,
  decide,
  freshnessLifetime,
  isStorable,
  type StoredResponse,
} from '../src/edge/freshness'
import { startEdgeServer } from '../src/edge/edge-server'

const T0 = Date.parse('2026-12-02T10:00:00Z')
const httpDate = (ms: number) => new Date(ms).toUTCString()
const ok = (headers: Record<string, string>, status = 200) => ({
  status,
  headers,
})
const stored = (
  headers: Record<string, string>,
  { sentAt = T0, receivedAt = T0 } = {},
): StoredResponse => ({
  status: 200,
  headers: { date: httpDate(receivedAt), ...headers },
  requestTime: sentAt,
  responseTime: receivedAt,
})

describe('freshness: what a shared cache may store (RFC 9111, section 3)', () => {
  it(
    'stores a GET answer with explicit freshness or a heuristically cacheable status, and nothing for POST (3, 3.1)',
    hinted('Hint 1: what may be stored', () => {
      expect(isStorable('GET', {}, ok({ 'cache-control': 'max-age=60' }))).toBe(
        true,
      )
      expect(isStorable('GET', {}, ok({}, 404))).toBe(true)
      expect(isStorable('HEAD', {}, ok({ expires: httpDate(T0) }, 302))).toBe(
        true,
      )
      expect(isStorable('GET', {}, ok({}, 302))).toBe(false)
      expect(
        isStorable('POST', {}, ok({ 'cache-control': 'max-age=60' })),
      ).toBe(false)
    }),
  )

  it(
    'never stores no-store (from either side), private, Set-Cookie or Vary: * answers (5.2.1.5, 5.2.2.5, 5.2.2.7, 4.1)',
    hinted('Hint 1: what may be stored', () => {
      const fresh = { 'cache-control': 'public, max-age=60' }
      expect(
        isStorable('GET', { 'cache-control': 'no-store' }, ok(fresh)),
      ).toBe(false)
      expect(
        isStorable('GET', {}, ok({ 'cache-control': 'no-store, max-age=60' })),
      ).toBe(false)
      expect(
        isStorable('GET', {}, ok({ 'cache-control': 'private, max-age=60' })),
      ).toBe(false)
      expect(
        isStorable('GET', {}, ok({ ...fresh, 'set-cookie': 'id=1' })),
      ).toBe(false)
      expect(isStorable('GET', {}, ok({ ...fresh, vary: '*' }))).toBe(false)
      expect(
        isStorable('GET', {}, ok({ ...fresh, vary: 'Accept-Encoding' })),
      ).toBe(true)
    }),
  )

  it(
    'stores an answer to a request with Authorization only when public, s-maxage or must-revalidate allow it (3.5)',
    hinted('Hint 1: what may be stored', () => {
      const auth = { authorization: 'Bearer x' }
      expect(
        isStorable('GET', auth, ok({ 'cache-control': 'max-age=60' })),
      ).toBe(false)
      for (const allowed of [
        'public, max-age=60',
        's-maxage=60',
        'must-revalidate, max-age=60',
      ])
        expect(isStorable('GET', auth, ok({ 'cache-control': allowed }))).toBe(
          true,
        )
    }),
  )
})

describe('freshness: how long a response stays fresh (RFC 9111, 4.2.1 and 4.2.2)', () => {
  it(
    'reads s-maxage over max-age over Expires minus Date (4.2.1)',
    hinted('Hint 2: how long it stays fresh', () => {
      const date = httpDate(T0)
      const expires = httpDate(T0 + 90_000)
      expect(
        freshnessLifetime(
          ok({ 'cache-control': 's-maxage=30, max-age=60', expires, date }),
        ),
      ).toBe(30)
      expect(
        freshnessLifetime(ok({ 'cache-control': 'max-age=60', expires, date })),
      ).toBe(60)
      expect(freshnessLifetime(ok({ expires, date }))).toBe(90)
    }),
  )

  it(
    'takes s-maxage=0 or max-age=0 as a lifetime of 0, not as absent (4.2.1, 5.3)',
    hinted('Hint 2: how long it stays fresh', () => {
      const date = httpDate(T0)
      const expires = httpDate(T0 + 90_000)
      expect(
        freshnessLifetime(ok({ 'cache-control': 's-maxage=0, max-age=60' })),
      ).toBe(0)
      expect(
        freshnessLifetime(ok({ 'cache-control': 'max-age=0', expires, date })),
      ).toBe(0)
    }),
  )

  it(
    'treats an Expires that does not parse, or lies in the past, as already expired (5.3)',
    hinted('Hint 2: how long it stays fresh', () => {
      const date = httpDate(T0)
      expect(freshnessLifetime(ok({ expires: 'never', date }))).toBe(0)
      // Node reads "0" as a date in the year 2000: past, so expired too.
      expect(freshnessLifetime(ok({ expires: '0', date }))).toBe(0)
      expect(
        freshnessLifetime(ok({ expires: httpDate(T0 - 60_000), date })),
      ).toBe(0)
    }),
  )

  it(
    'gives a response with only Last-Modified 10% of its age as a heuristic, and one with nothing 0 (4.2.2)',
    hinted('Hint 2: how long it stays fresh', () => {
      const headers = {
        date: httpDate(T0),
        'last-modified': httpDate(T0 - 1000_000),
      }
      expect(freshnessLifetime(ok(headers))).toBe(100)
      expect(freshnessLifetime(ok(headers, 302))).toBe(0)
      expect(freshnessLifetime(ok({ date: httpDate(T0) }))).toBe(0)
    }),
  )
})

describe('freshness: how old a stored copy is (RFC 9111, 4.2.3)', () => {
  it(
    'adds the time it has spent here to the Age it arrived with, plus the round trip',
    hinted('Hint 3: how old a copy is', () => {
      const copy = stored({ age: '10' }, { sentAt: T0 - 2000, receivedAt: T0 })
      expect(currentAge(copy, T0)).toBe(12)
      expect(currentAge(copy, T0 + 5000)).toBe(17)
    }),
  )

  it(
    'counts from Date when the origin clock shows more time passed, and is never negative',
    hinted('Hint 3: how old a copy is', () => {
      const late = { ...stored({}), headers: { date: httpDate(T0 - 30_000) } }
      expect(currentAge(late, T0)).toBe(30)
      const early = { ...stored({}), headers: { date: httpDate(T0 + 30_000) } }
      expect(currentAge(early, T0)).toBe(0)
    }),
  )
})

describe('freshness: fresh, stale, or revalidate (RFC 9111, 4.2 and 4.2.4; RFC 5861)', () => {
  it(
    'serves a copy as it is while its age is below its lifetime, and revalidates after (4.2)',
    hinted('Hint 4: fresh, stale or revalidate', () => {
      const copy = stored({ 'cache-control': 'max-age=60' })
      expect(decide(copy, {}, T0 + 59_000)).toMatchObject({
        decision: 'fresh',
        age: 59,
        lifetime: 60,
      })
      expect(decide(copy, {}, T0 + 60_000).decision).toBe('revalidate')
    }),
  )

  it(
    'revalidates a no-cache response, and for a no-cache or max-age request, even when fresh (5.2.2.4, 5.2.1.4, 5.2.1.1)',
    hinted('Hint 4: fresh, stale or revalidate', () => {
      expect(
        decide(stored({ 'cache-control': 'no-cache, max-age=60' }), {}, T0)
          .decision,
      ).toBe('revalidate')
      const copy = stored({ 'cache-control': 'max-age=60' })
      expect(decide(copy, { 'cache-control': 'no-cache' }, T0).decision).toBe(
        'revalidate',
      )
      expect(
        decide(copy, { 'cache-control': 'max-age=5' }, T0 + 10_000).decision,
      ).toBe('revalidate')
      // A browser's reload sends max-age=0: only a copy 0 s old will do.
      expect(
        decide(copy, { 'cache-control': 'max-age=0' }, T0 + 1000).decision,
      ).toBe('revalidate')
    }),
  )

  it(
    'serves a stale copy at once within stale-while-revalidate, and not after it (RFC 5861, 3)',
    hinted('Hint 4: fresh, stale or revalidate', () => {
      const copy = stored({
        'cache-control': 'max-age=60, stale-while-revalidate=30',
      })
      expect(decide(copy, {}, T0 + 80_000).decision).toBe(
        'stale-while-revalidate',
      )
      expect(decide(copy, {}, T0 + 91_000).decision).toBe('revalidate')
    }),
  )

  it(
    'lets a stale copy stand in for a failing origin within stale-if-error only (RFC 5861, 4)',
    hinted('Hint 4: fresh, stale or revalidate', () => {
      const copy = stored({ 'cache-control': 'max-age=60, stale-if-error=120' })
      expect(decide(copy, {}, T0 + 170_000).servableOnError).toBe(true)
      expect(decide(copy, {}, T0 + 181_000).servableOnError).toBe(false)
      expect(
        decide(stored({ 'cache-control': 'max-age=60' }), {}, T0 + 61_000)
          .servableOnError,
      ).toBe(false)
      // no-cache: never used without revalidation (RFC 9111, 5.2.2.4).
      const noCache = stored({
        'cache-control': 'no-cache, max-age=60, stale-if-error=120',
      })
      expect(decide(noCache, {}, T0).servableOnError).toBe(false)
    }),
  )

  it(
    'never serves stale what must-revalidate, proxy-revalidate or s-maxage forbids (5.2.2.2, 5.2.2.8, 5.2.2.10)',
    hinted('Hint 4: fresh, stale or revalidate', () => {
      for (const forbid of [
        'must-revalidate',
        'proxy-revalidate',
        's-maxage=60',
      ]) {
        const copy = stored({
          'cache-control': `max-age=60, ${forbid}, stale-while-revalidate=30, stale-if-error=120`,
        })
        const verdict = decide(copy, {}, T0 + 70_000)
        expect([verdict.decision, verdict.servableOnError]).toEqual([
          'revalidate',
          false,
        ])
      }
    }),
  )
})

describe('freshness: inside the running edge', () => {
  it(
    'serves a fresh copy from the edge with a growing Age, and asks the origin again once it is stale',
    hinted('Hint 4: fresh, stale or revalidate', async () => {
      // The edge calls these inside its request handlers, where a gap would
      // leave the request waiting: reach any gap here first.
      isStorable('GET', {}, ok({ 'cache-control': 'max-age=60' }))
      decide(stored({ 'cache-control': 'max-age=60' }), {}, T0)
      let now = T0
      const origin = await startScriptedOrigin(() => now)
      origin.route('/static/a.css', () => ({
        headers: { 'cache-control': 'max-age=60', 'content-type': 'text/css' },
        body: 'a {}',
      }))
      const edge = await startEdgeServer({
        name: 'edge-t',
        origin: origin.url,
        purgeToken: 'a-purge-token-of-length',
        now: () => now,
      })
      try {
        const first = await send(edge.url, '/static/a.css')
        now += 30_000
        const second = await send(edge.url, '/static/a.css')
        now += 31_000
        const third = await send(edge.url, '/static/a.css')
        expect(
          [first, second, third].map((r) => r.headers.get('x-edge-cache')),
        ).toEqual(['MISS', 'HIT', 'MISS'])
        expect(second.headers.get('age')).toBe('30')
        expect(origin.requests('/static/a.css')).toBe(2)
      } finally {
        await edge.close()
        await origin.close()
      }
    }),
  )
})
