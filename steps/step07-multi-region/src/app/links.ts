// What makes a short link safe to hand out. Codes are 7 base62 characters from
// a crypto RNG: 62^7 is about 3.5 trillion codes, too many to guess or walk.
// Validation is an allow-list (http and https with a host), because a
// shortener that redirects to `javascript:` or `file:` is an attack tool.
import { randomInt } from 'node:crypto'
import { badRequest } from '../common/http-error'

export const CODE_LENGTH = 7
export const ALPHABET =
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
export const MAX_URL_LENGTH = 2048
export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/
// Paths the app itself serves, or may serve one day: an alias must not shadow them.
export const RESERVED_ALIASES = new Set([
  'api',
  'static',
  'healthz',
  'metrics',
  'admin',
  'favicon.ico',
  'robots.txt',
  'index.html',
  'login',
  'logout',
  'assets',
  'www',
])

/** Returns a random integer in [0, max); injectable so tests can fix it. */
export type RandomInt = (max: number) => number

export function generateCode(random: RandomInt = randomInt): string {
  let code = ''
  for (let i = 0; i < CODE_LENGTH; i++) {
    code += ALPHABET[random(ALPHABET.length)]
  }
  return code
}

// Control characters, invisible format characters (zero-width, bidi
// overrides) and spaces: the URL parser would silently drop or encode some of
// them, so a link could lead somewhere other than it looks.
export const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}]/u

/** Whether `url` names one of `selfHosts` ("host:port" or full URLs), in any
 * spelling: any case, a trailing dot, the default port written out, and for
 * a loopback address any other loopback name with the same port. */
export function isOwnAddress(url: URL, selfHosts: string[]): boolean {
  const target = endpoint(url)
  return selfHosts.some((self) => {
    const own = endpoint(
      new URL(self.includes('://') ? self : `http://${self}`),
    )
    if (own.port !== target.port) return false
    return (
      own.host === target.host ||
      (isLoopback(own.host) && isLoopback(target.host))
    )
  })
}

function endpoint(url: URL) {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return { host: url.hostname.toLowerCase().replace(/\.$/, ''), port }
}

// 127.0.0.0/8, ::1, IPv4-mapped loopback, localhost and its subdomains, and
// the unspecified addresses, which reach this machine too.
const isLoopback = (host: string) =>
  /^(localhost|.+\.localhost|127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:7f[0-9a-f]{2}:[0-9a-f]+\]|0\.0\.0\.0|\[::\])$/.test(
    host,
  )

/** Returns the normalised URL, or throws a 400 `invalid_url`. */
export function validateUrl(input: unknown, selfHosts: string[]): string {
  if (typeof input !== 'string' || input === '') {
    throw badRequest('invalid_url', 'url must be a non-empty string')
  }
  if (input.length > MAX_URL_LENGTH) {
    throw badRequest(
      'invalid_url',
      `url is longer than ${MAX_URL_LENGTH} characters`,
    )
  }
  if (INVISIBLE.test(input)) {
    throw badRequest('invalid_url', 'url contains spaces or control characters')
  }
  // The parser accepts `http:example.com` and `http:///x`; ask for the slashes.
  if (!/^https?:\/\/[^/?#]/i.test(input) || !URL.canParse(input)) {
    throw badRequest(
      'invalid_url',
      'url must be an absolute http:// or https:// URL',
    )
  }
  const url = new URL(input)
  if (url.username || url.password) {
    throw badRequest(
      'invalid_url',
      'url must not contain a user name or password',
    )
  }
  if (isOwnAddress(url, selfHosts)) {
    throw badRequest('invalid_url', 'url must not point back at this shortener')
  }
  return url.href
}

/** Returns the alias, or throws a 400 `invalid_alias`. */
export function validateAlias(input: unknown): string {
  if (typeof input !== 'string' || !ALIAS_PATTERN.test(input)) {
    throw badRequest(
      'invalid_alias',
      'alias must be 3 to 64 letters, digits, "_" or "-"',
    )
  }
  if (RESERVED_ALIASES.has(input.toLowerCase())) {
    throw badRequest('invalid_alias', `alias "${input}" is reserved`)
  }
  return input
}

export const MAX_EXPIRY_SECONDS = 10 * 365 * 24 * 3600

/** Returns the expiry time in epoch ms, null for none, or throws a 400. */
export function expiryFrom(input: unknown, now: number): number | null {
  if (input === undefined || input === null) return null
  if (
    !Number.isInteger(input) ||
    (input as number) < 1 ||
    (input as number) > MAX_EXPIRY_SECONDS
  ) {
    throw badRequest(
      'invalid_expiry',
      `expiresInSeconds must be a whole number from 1 to ${MAX_EXPIRY_SECONDS}`,
    )
  }
  return now + (input as number) * 1000
}
