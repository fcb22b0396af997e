// Bad input, as a table: each request gets its documented 4xx and a JSON
// error, and the server keeps serving afterwards. Run by every step against
// its front door, so no layer added later may turn one of these into a 500.
import {
  createLink,
  postJson,
  send,
  uniqueUrl,
  type CreatedLink,
  type Reply,
} from './http'
import { expectError } from './contract'
import { sendHostile } from './hostile'
import { sendRaw } from './raw'
import { startTraffic } from './traffic'
import { waitFor } from '../wait-for'

interface Fixtures {
  base: string
  link: CreatedLink
  expired: CreatedLink
  alias: string
}

interface BadInput {
  name: string
  status: number
  code: string
  request: (fixtures: Fixtures) => Promise<Reply>
}

const post = (body: unknown) => (f: Fixtures) =>
  postJson(f.base, '/api/links', body)
const postUrl = (url: unknown) => post({ url })
const postAlias = (alias: unknown) => post({ url: uniqueUrl(), alias })
const postExpiry = (expiresInSeconds: unknown) =>
  post({ url: uniqueUrl(), expiresInSeconds })
const postRaw = (body: string, contentType?: string) => (f: Fixtures) =>
  send(f.base, '/api/links', {
    method: 'POST',
    headers: contentType ? { 'Content-Type': contentType } : {},
    body,
  })
const deleteWith =
  (authorization: string | undefined, code?: string) => (f: Fixtures) =>
    send(f.base, `/api/links/${code ?? f.link.code}`, {
      method: 'DELETE',
      headers: authorization ? { Authorization: authorization } : {},
    })

export const BAD_INPUTS: BadInput[] = [
  {
    name: 'a javascript: URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('javascript:alert(1)'),
  },
  {
    name: 'a data: URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('data:text/html,<script>alert(1)</script>'),
  },
  {
    name: 'a file: URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('file:///etc/passwd'),
  },
  {
    name: 'an ftp: URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('ftp://example.com/file'),
  },
  {
    name: 'a mailto: URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('mailto:someone@example.com'),
  },
  {
    name: 'a relative URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('/just/a/path'),
  },
  {
    name: 'a URL without a scheme',
    status: 400,
    code: 'invalid_url',
    request: postUrl('example.com/page'),
  },
  {
    name: 'a host-less URL',
    status: 400,
    code: 'invalid_url',
    request: postUrl('http://'),
  },
  {
    name: 'a URL with three slashes',
    status: 400,
    code: 'invalid_url',
    request: postUrl('http:///example.com'),
  },
  {
    name: 'a URL of 2049 characters',
    status: 400,
    code: 'invalid_url',
    request: postUrl(`https://example.com/${'a'.repeat(2029)}`),
  },
  {
    name: 'a URL with a newline',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://exa\nmple.com/'),
  },
  {
    name: 'a URL with a tab',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://example.com/\tpath'),
  },
  {
    name: 'a URL with a NUL byte',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://example.com/\u0000'),
  },
  {
    name: 'a URL with a zero-width space',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://exam\u200Bple.com/'),
  },
  {
    name: 'a URL with a right-to-left override',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://example.com/\u202Egnp.exe'),
  },
  {
    name: 'a URL with a leading space',
    status: 400,
    code: 'invalid_url',
    request: postUrl(' https://example.com/'),
  },
  {
    name: 'a URL with a user name and password',
    status: 400,
    code: 'invalid_url',
    request: postUrl('https://user:pass@example.com/'),
  },
  {
    name: 'a URL that points back at the shortener',
    status: 400,
    code: 'invalid_url',
    request: (f) =>
      postJson(f.base, '/api/links', { url: `${f.base}/${f.link.code}` }),
  },
  {
    name: 'a missing url',
    status: 400,
    code: 'invalid_url',
    request: post({ alias: 'no-url-here' }),
  },
  {
    name: 'a url that is a number',
    status: 400,
    code: 'invalid_url',
    request: postUrl(42),
  },
  {
    name: 'malformed JSON',
    status: 400,
    code: 'invalid_json',
    request: postRaw('{"url": "https://example.com"', 'application/json'),
  },
  {
    name: 'a JSON array',
    status: 400,
    code: 'invalid_body',
    request: postRaw('["https://example.com"]', 'application/json'),
  },
  {
    name: 'a text/plain body',
    status: 415,
    code: 'unsupported_media_type',
    request: postRaw('https://example.com', 'text/plain'),
  },
  {
    name: 'a form-encoded body',
    status: 415,
    code: 'unsupported_media_type',
    request: postRaw(
      'url=https%3A%2F%2Fexample.com',
      'application/x-www-form-urlencoded',
    ),
  },
  {
    name: 'a body without a content type',
    status: 415,
    code: 'unsupported_media_type',
    request: postRaw('{"url":"https://example.com"}'),
  },
  {
    name: 'a 1 MB body',
    status: 413,
    code: 'payload_too_large',
    request: postRaw(
      JSON.stringify({ url: `https://example.com/${'a'.repeat(1_000_000)}` }),
      'application/json',
    ),
  },
  {
    name: 'the reserved alias "api"',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('api'),
  },
  {
    name: 'the reserved alias "Static" in another case',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('Static'),
  },
  {
    name: 'the reserved alias "healthz"',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('healthz'),
  },
  {
    name: 'an alias of 2 characters',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('ab'),
  },
  {
    name: 'an alias of 65 characters',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('a'.repeat(65)),
  },
  {
    name: 'an alias with a slash',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('a/b/c'),
  },
  {
    name: 'an alias with non-ASCII letters',
    status: 400,
    code: 'invalid_alias',
    request: postAlias('café-link'),
  },
  {
    name: 'an alias that is a number',
    status: 400,
    code: 'invalid_alias',
    request: postAlias(12345),
  },
  {
    name: 'a taken alias',
    status: 409,
    code: 'alias_taken',
    request: (f) => postAlias(f.alias)(f),
  },
  {
    name: 'an expiry of 0 seconds',
    status: 400,
    code: 'invalid_expiry',
    request: postExpiry(0),
  },
  {
    name: 'a negative expiry',
    status: 400,
    code: 'invalid_expiry',
    request: postExpiry(-60),
  },
  {
    name: 'a fractional expiry',
    status: 400,
    code: 'invalid_expiry',
    request: postExpiry(1.5),
  },
  {
    name: 'an expiry given as a string',
    status: 400,
    code: 'invalid_expiry',
    request: postExpiry('60'),
  },
  {
    name: 'an unknown code',
    status: 404,
    code: 'not_found',
    request: (f) => send(f.base, '/zzzzzzz'),
  },
  {
    name: 'the details of an unknown code',
    status: 404,
    code: 'not_found',
    request: (f) => send(f.base, '/api/links/zzzzzzz'),
  },
  {
    name: 'an expired code',
    status: 410,
    code: 'expired',
    request: (f) => send(f.base, `/${f.expired.code}`),
  },
  {
    name: 'a broken percent-encoding in the path',
    status: 400,
    code: 'bad_request',
    request: (f) => send(f.base, '/%E0%A4%A'),
  },
  {
    name: 'a delete without a token',
    status: 401,
    code: 'missing_token',
    request: deleteWith(undefined),
  },
  {
    name: 'a delete with Basic instead of Bearer',
    status: 401,
    code: 'missing_token',
    request: deleteWith('Basic dXNlcjpwYXNz'),
  },
  {
    name: 'a delete with a wrong token',
    status: 403,
    code: 'wrong_token',
    request: deleteWith('Bearer not-the-token'),
  },
  {
    name: 'a delete of an unknown code',
    status: 404,
    code: 'not_found',
    request: deleteWith('Bearer whatever', 'zzzzzzz'),
  },
  {
    name: 'an unknown API route',
    status: 404,
    code: 'not_found',
    request: (f) => send(f.base, '/api/nothing', { method: 'POST' }),
  },
]

// What curl and fetch will not send: crafted request targets, a broken
// request line, missing or foreign Host headers. A proxy in front must never
// let a target name another server, and nothing may cost a 5xx.
interface RawInput {
  name: string
  /** The request, up to the end of its headers; Host is added when absent. */
  head: string
  body?: string
  status: number[]
  code: string
}

const RAW_INPUTS: RawInput[] = [
  {
    name: 'a target that names another server (//host:port/path)',
    head: 'GET //127.0.0.1:1/metrics HTTP/1.1',
    status: [404],
    code: 'not_found',
  },
  {
    name: 'an absolute-form target that names another server',
    head: 'GET http://127.0.0.1:1/zzzzzzz HTTP/1.1',
    status: [404],
    code: 'not_found',
  },
  {
    name: 'an absolute-form target with another scheme',
    head: 'GET ftp://127.0.0.1:1/zzzzzzz HTTP/1.1',
    status: [400, 404],
    code: '*',
  },
  {
    name: 'the asterisk target',
    head: 'GET * HTTP/1.1',
    status: [400, 404],
    code: '*',
  },
  {
    name: 'a control character in the target',
    head: 'GET /a\x01b HTTP/1.1',
    status: [400],
    code: 'bad_request',
  },
  {
    name: 'a request line that is not HTTP',
    head: 'HELLO THERE',
    status: [400],
    code: 'bad_request',
  },
  {
    name: 'a header line without a colon',
    head: 'GET / HTTP/1.1\r\nthis is not a header',
    status: [400],
    code: 'bad_request',
  },
  {
    name: 'headers larger than the server takes',
    head: `GET / HTTP/1.1\r\nX-Big: ${'x'.repeat(20_000)}`,
    status: [431],
    code: 'headers_too_large',
  },
  {
    name: 'an Expect the server does not know',
    head: 'GET / HTTP/1.1\r\nExpect: tea',
    status: [417],
    code: 'expectation_failed',
  },
  {
    name: 'an HTTP/1.1 request without Host',
    head: 'GET /healthz HTTP/1.1\r\nX-No-Host: 1',
    status: [400],
    code: 'bad_request',
  },
  {
    name: 'a CONNECT tunnel to another server',
    head: 'CONNECT 127.0.0.1:1 HTTP/1.1',
    status: [405],
    code: 'method_not_allowed',
  },
]

function rawRequest(base: string, input: RawInput) {
  const host = /\r\nX-No-Host|^CONNECT|^HELLO/.test(input.head)
    ? ''
    : `\r\nHost: ${new URL(base).host}`
  const body = input.body ?? ''
  return sendRaw(
    base,
    `${input.head}${host}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  )
}

// A foreign or broken Host is the client's business: the short URL still
// names the system's own public address.
const HOSTS = ['evil.example', 'a b', '[::1', '127.0.0.1:1', 'x'.repeat(300)]

/** `publicUrl`: where the system's short links point, when not here. */
export function badInputTests(
  frontDoor: () => string,
  publicUrl: () => string = frontDoor,
): void {
  let fixtures: Fixtures
  beforeAll(async () => {
    const base = frontDoor()
    const alias = `taken-${Date.now()}`
    const [link, expired] = await Promise.all([
      createLink(base),
      createLink(base, { expiresInSeconds: 1 }),
      createLink(base, { alias }),
    ])
    fixtures = { base, link: link!, expired: expired!, alias }
    await waitFor('the fixture link to expire', async () => {
      return (await send(base, `/${expired!.code}`)).status === 410
    })
  })

  it.each(BAD_INPUTS)('answers $status $code to $name', async (input) => {
    expectError(await input.request(fixtures), input.status, input.code)
  })

  it.each(RAW_INPUTS)('answers $status $code to $name', async (input) => {
    const reply = await rawRequest(fixtures.base, input)
    expect(input.status).toContain(reply.status)
    if (input.code !== '*') expect(reply.json?.error?.code).toBe(input.code)
    expect(typeof reply.json?.error?.message).toBe('string')
  })

  it.each(HOSTS)(
    'makes the short URL from its own address when Host is %j',
    async (host) => {
      const body = JSON.stringify({ url: uniqueUrl() })
      const reply = await sendRaw(
        fixtures.base,
        `POST /api/links HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      )
      expect(reply.status).toBe(201)
      expect(reply.json.shortUrl).toBe(`${publicUrl()}/${reply.json.code}`)
    },
  )

  // HTTP/1.0 has no Host; a proxy adds one (NGINX sends its upstream's).
  it('serves an HTTP/1.0 request without Host', async () => {
    const reply = await sendRaw(
      fixtures.base,
      `GET /api/links/${fixtures.link.code} HTTP/1.0\r\n\r\n`,
    )
    expect([reply.status, reply.json?.code]).toEqual([200, fixtures.link.code])
  })

  it('serves a normal client without a failure while 100 hostile requests arrive', async () => {
    const traffic = await startTraffic(fixtures.base)
    const statuses = await sendHostile(fixtures.base, 100)
    await traffic.more(20)
    await traffic.stop()
    expect(traffic.failures).toEqual([])
    expect(statuses.filter((status) => status === 0 || status >= 500)).toEqual(
      [],
    )
  })

  it('keeps serving after every bad request', async () => {
    await Promise.all(BAD_INPUTS.map((input) => input.request(fixtures)))
    await Promise.all(
      RAW_INPUTS.map((input) => rawRequest(fixtures.base, input)),
    )
    const link = await createLink(fixtures.base)
    expect((await send(fixtures.base, `/${link.code}`)).status).toBe(302)
    expect((await send(fixtures.base, `/${fixtures.link.code}`)).status).toBe(
      302,
    )
  })
}
