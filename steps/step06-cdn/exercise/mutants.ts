// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'a private answer is stored like a public one',
    hint: 'Hint 1: what may be stored',
    replace: `  if (directives.has('private')) return false
`,
    with: ``,
  },
  {
    name: 'no-store is read from the response only, not from the request',
    hint: 'Hint 1: what may be stored',
    replace: `if (request.has('no-store') || directives.has('no-store')) return false`,
    with: `if (directives.has('no-store')) return false`,
  },
  {
    name: 'an answer to a request with Authorization is stored like any other',
    hint: 'Hint 1: what may be stored',
    replace: `  if (
    requestHeaders.authorization !== undefined &&
    !['public', 's-maxage', 'must-revalidate'].some((d) => directives.has(d))
  )
    return false
`,
    with: ``,
  },
  {
    name: 'only public lets an answer to a request with Authorization be stored',
    hint: 'Hint 1: what may be stored',
    replace: `!['public', 's-maxage', 'must-revalidate'].some((d) => directives.has(d))`,
    with: `!directives.has('public')`,
  },
  {
    name: 'every GET answer not forbidden is stored, even a 302 with no lifetime',
    hint: 'Hint 1: what may be stored',
    replace: `return explicit || HEURISTICALLY_CACHEABLE.has(response.status)`,
    with: `return true`,
  },
  {
    name: 'max-age is read before s-maxage',
    hint: 'Hint 2: how long it stays fresh',
    replace: `seconds(directives, 's-maxage') ?? seconds(directives, 'max-age')`,
    with: `seconds(directives, 'max-age') ?? seconds(directives, 's-maxage')`,
  },
  {
    name: 'a lifetime of 0 counts as absent (|| instead of ??)',
    hint: 'Hint 2: how long it stays fresh',
    replace: `seconds(directives, 's-maxage') ?? seconds(directives, 'max-age')
  if (explicit !== undefined) return explicit`,
    with: `seconds(directives, 's-maxage') || seconds(directives, 'max-age')
  if (explicit) return explicit`,
  },
  {
    name: 'an Expires that does not parse gives a lifetime of NaN',
    hint: 'Hint 2: how long it stays fresh',
    replace: `    return Number.isNaN(expires) || Number.isNaN(date)
      ? 0
      : Math.max(0, Math.floor((expires - date) / 1000))`,
    with: `    return Math.max(0, Math.floor((expires - date) / 1000))`,
  },
  {
    name: 'the heuristic lifetime is computed without a Last-Modified (NaN)',
    hint: 'Hint 2: how long it stays fresh',
    replace: `if (!HEURISTICALLY_CACHEABLE.has(response.status) || Number.isNaN(modified))`,
    with: `if (!HEURISTICALLY_CACHEABLE.has(response.status))`,
  },
  {
    name: 'the age leaves out the response delay (the round trip)',
    hint: 'Hint 3: how old a copy is',
    replace: `const correctedAgeValue = ageValue + responseDelay`,
    with: `const correctedAgeValue = ageValue`,
  },
  {
    name: 'the age leaves out the apparent age (what Date shows)',
    hint: 'Hint 3: how old a copy is',
    replace: `const correctedInitialAge = Math.max(apparentAge, correctedAgeValue)`,
    with: `const correctedInitialAge = correctedAgeValue`,
  },
  {
    name: 'the age is counted from Date alone, and goes negative when the origin clock is ahead',
    hint: 'Hint 3: how old a copy is',
    replace: `  return Math.max(0, Math.floor(correctedInitialAge + residentTime))`,
    with: `  return Math.floor((now - date) / 1000)`,
  },
  {
    name: 'a copy is still served fresh when its age equals its lifetime',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `if (staleFor < 0) return verdict('fresh')`,
    with: `if (staleFor <= 0) return verdict('fresh')`,
  },
  {
    name: 'no-cache from the origin is ignored',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `if (directives.has('no-cache') || request.has('no-cache'))`,
    with: `if (request.has('no-cache'))`,
  },
  {
    name: "a request's max-age=0 (a browser's reload) is ignored",
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `if (requestMaxAge !== undefined && age > requestMaxAge)`,
    with: `if (requestMaxAge && age > requestMaxAge)`,
  },
  {
    name: 'stale-while-revalidate is honoured despite must-revalidate or s-maxage',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `if (!noStale && whileRevalidate !== undefined && staleFor <= whileRevalidate)`,
    with: `if (whileRevalidate !== undefined && staleFor <= whileRevalidate)`,
  },
  {
    name: 's-maxage does not forbid serving stale',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `['must-revalidate', 'proxy-revalidate', 's-maxage']`,
    with: `['must-revalidate', 'proxy-revalidate']`,
  },
  {
    name: 'stale-if-error lets a copy stand in however stale it is',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `staleFor <= (seconds(directives, 'stale-if-error') ?? -1)`,
    with: `directives.has('stale-if-error')`,
  },
  {
    name: 'a no-cache copy stands in for a failing origin',
    hint: 'Hint 4: fresh, stale or revalidate',
    replace: `    !directives.has('no-cache') &&\n`,
    with: '',
  },
]
