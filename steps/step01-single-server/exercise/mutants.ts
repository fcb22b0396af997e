// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'draws from Math.random() instead of the random source it is given',
    hint: 'Hint 1: codes',
    replace: `ALPHABET[random(ALPHABET.length)]`,
    with: `ALPHABET[Math.floor(Math.random() * ALPHABET.length)]`,
  },
  {
    name: 'runs the loop once too often and makes 8 characters',
    hint: 'Hint 1: codes',
    replace: `i < CODE_LENGTH`,
    with: `i <= CODE_LENGTH`,
  },
  {
    name: 'asks for random(ALPHABET.length - 1), so "z" never comes up',
    hint: 'Hint 1: codes',
    replace: `ALPHABET[random(ALPHABET.length)]`,
    with: `ALPHABET[random(ALPHABET.length - 1)]`,
  },
  {
    name: 'turns any input into a string, so an array holding a URL passes',
    hint: 'Hint 2: URLs',
    replace: `  if (typeof input !== 'string' || input === '') {`,
    with: `  input = String(input ?? '')
  if (typeof input !== 'string' || input === '') {`,
  },
  {
    name: 'refuses a URL of exactly MAX_URL_LENGTH characters',
    hint: 'Hint 2: URLs',
    replace: `input.length > MAX_URL_LENGTH`,
    with: `input.length >= MAX_URL_LENGTH`,
  },
  {
    name: 'lets the parser repair invisible characters instead of refusing them',
    hint: 'Hint 2: URLs',
    replace: `INVISIBLE.test(input)`,
    with: `false`,
  },
  {
    name: 'checks the scheme after parsing, so http:example.com passes',
    hint: 'Hint 2: URLs',
    replace: `!/^https?:\\/\\/[^/?#]/i.test(input) || !URL.canParse(input)`,
    with: `!URL.canParse(input) || !['http:', 'https:'].includes(new URL(input).protocol)`,
  },
  {
    name: 'matches the scheme in lower case only, so HTTPS://... is refused',
    hint: 'Hint 2: URLs',
    replace: `/^https?:\\/\\/[^/?#]/i`,
    with: `/^https?:\\/\\/[^/?#]/`,
  },
  {
    name: 'lets new URL() throw on text it cannot parse (a 500, not a 400)',
    hint: 'Hint 2: URLs',
    replace: ` || !URL.canParse(input)`,
    with: ``,
  },
  {
    name: 'accepts a user name and password in the URL',
    hint: 'Hint 2: URLs',
    replace: `url.username || url.password`,
    with: `false`,
  },
  {
    name: 'compares host names as text, so another spelling of our address passes',
    hint: 'Hint 2: URLs',
    replace: `isOwnAddress(url, selfHosts)`,
    with: `selfHosts.some((host) => host.toLowerCase() === url.host)`,
  },
  {
    name: 'returns the input as sent, not the parsed URL',
    hint: 'Hint 2: URLs',
    replace: `return url.href`,
    with: `return input`,
  },
  {
    name: 'skips the string check, so a number passes as an alias',
    hint: 'Hint 3: aliases',
    replace: `typeof input !== 'string' || !ALIAS_PATTERN.test(input)`,
    with: `!ALIAS_PATTERN.test(input as string)`,
  },
  {
    name: 'looks up reserved names in the case they were sent, so API passes',
    hint: 'Hint 3: aliases',
    replace: `RESERVED_ALIASES.has(input.toLowerCase())`,
    with: `RESERVED_ALIASES.has(input)`,
  },
  {
    name: 'returns the alias in lower case',
    hint: 'Hint 3: aliases',
    replace: `  return input
}`,
    with: `  return input.toLowerCase()
}`,
  },
]
