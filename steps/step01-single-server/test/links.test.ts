// The exercise: code generation and URL/alias validation. `npm test -- step01`
// runs these against exercises/; each failure names the hint to read.
import request from 'supertest'
import { hinted } from '../../../shared/testing/hint'
import { HttpError } from '../src/common/http-error'
import {
  ALPHABET,
  CODE_LENGTH,
  generateCode,
  validateAlias,
  validateUrl,
} from '../src/app/links'
import { createApp } from '../src/app/app'
import { createSqliteStore } from '../src/database/sqlite-store'

function rejection(
  run: () => unknown,
): { status: number; code: string } | string {
  try {
    return `accepted, returned ${JSON.stringify(run())}`
  } catch (error: unknown) {
    if (error instanceof HttpError)
      return { status: error.status, code: error.code }
    // Any other error is a wrong answer too: a client would get a 500.
    return `threw ${String(error)}`
  }
}

describe('links: codes', () => {
  it(
    'generates 7-character base62 codes',
    hinted('Hint 1: codes', () => {
      for (let i = 0; i < 200; i++) {
        expect(generateCode()).toMatch(/^[0-9A-Za-z]{7}$/)
      }
    }),
  )

  it(
    'takes every character from the random source it is given',
    hinted('Hint 1: codes', () => {
      const picks = [0, 61, 10, 36, 35, 1, 60]
      let next = 0
      const code = generateCode((max) => {
        expect(max).toBe(ALPHABET.length)
        return picks[next++]!
      })
      expect(code).toBe(picks.map((i) => ALPHABET[i]).join(''))
      expect(code).toHaveLength(CODE_LENGTH)
    }),
  )

  it(
    'does not repeat a code in 10,000 draws',
    hinted('Hint 1: codes', () => {
      const codes = new Set(
        Array.from({ length: 10_000 }, () => generateCode()),
      )
      expect(codes.size).toBe(10_000)
    }),
  )
})

describe('links: URL validation', () => {
  const self = ['short.test:3000']

  it.each([
    ['https://example.com', 'https://example.com/'],
    ['http://example.com/a?b=c#d', 'http://example.com/a?b=c#d'],
    ['HTTPS://Example.COM/Path', 'https://example.com/Path'],
    [
      'https://bücher.example/straße',
      'https://xn--bcher-kva.example/stra%C3%9Fe',
    ],
    [
      'http://localhost:4000/other-service',
      'http://localhost:4000/other-service',
    ],
  ])('accepts %s as %s', (input, normalised) =>
    hinted('Hint 2: URLs', () => {
      expect(validateUrl(input, self)).toBe(normalised)
    })(),
  )

  it.each([
    ['javascript:alert(1)'],
    ['data:text/html,hi'],
    ['file:///etc/passwd'],
    ['ftp://example.com/'],
    ['//example.com/no-scheme'],
    ['example.com'],
    ['http://'],
    ['http:example.com'],
    ['https://example.com:99999/'],
    ['https://exa mple.com/'],
    ['https://example.com/\n'],
    ['https://example.com/\u200B'],
    ['https://user:secret@example.com/'],
    ['http://short.test:3000/abc1234'],
    [''],
  ])('rejects %j with 400 invalid_url', (input) =>
    hinted('Hint 2: URLs', () => {
      expect(rejection(() => validateUrl(input, self))).toEqual({
        status: 400,
        code: 'invalid_url',
      })
    })(),
  )

  it.each([
    ['http://SHORT.TEST:3000/abc', ['short.test:3000']],
    ['http://short.test.:3000/abc', ['short.test:3000']],
    ['http://short.test:80/abc', ['short.test']],
    ['https://sho.rt:443/abc', ['https://sho.rt']],
    ['http://localhost:3000/abc', ['127.0.0.1:3000']],
    ['http://LOCALHOST.:3000/abc', ['127.0.0.1:3000']],
    ['http://127.1:3000/abc', ['127.0.0.1:3000']],
    ['http://2130706433:3000/abc', ['127.0.0.1:3000']],
    ['http://[::1]:3000/abc', ['127.0.0.1:3000']],
    ['http://[::ffff:127.0.0.1]:3000/abc', ['127.0.0.1:3000']],
    ['http://0.0.0.0:3000/abc', ['127.0.0.1:3000']],
    ['http://app.localhost:3000/abc', ['127.0.0.1:3000']],
    ['http://127.0.0.1:3002/abc', ['127.0.0.1:3000', '127.0.0.1:3002']],
  ])('rejects %s, a spelling of our own address %j', (input, selfHosts) =>
    hinted('Hint 2: URLs', () => {
      expect(rejection(() => validateUrl(input, selfHosts))).toEqual({
        status: 400,
        code: 'invalid_url',
      })
    })(),
  )

  it(
    'accepts a URL of up to 2048 characters and rejects a longer one',
    hinted('Hint 2: URLs', () => {
      const longest = `https://example.com/${'x'.repeat(2048 - 20)}`
      expect(longest).toHaveLength(2048)
      expect(validateUrl(longest, self)).toBe(longest)
      expect(rejection(() => validateUrl(`${longest}x`, self))).toEqual({
        status: 400,
        code: 'invalid_url',
      })
    }),
  )

  it(
    'rejects a url that is not a string',
    hinted('Hint 2: URLs', () => {
      for (const input of [undefined, null, 42, ['https://example.com'], {}]) {
        expect(rejection(() => validateUrl(input, self))).toEqual({
          status: 400,
          code: 'invalid_url',
        })
      }
    }),
  )
})

describe('links: alias validation', () => {
  it(
    'accepts letters, digits, "_" and "-" from 3 to 64 characters',
    hinted('Hint 3: aliases', () => {
      for (const alias of ['abc', 'My_Link-2', 'x'.repeat(64)]) {
        expect(validateAlias(alias)).toBe(alias)
      }
    }),
  )

  it(
    'rejects an alias that is not a string',
    hinted('Hint 3: aliases', () => {
      for (const input of [12345, null, true, ['abc'], {}]) {
        expect(rejection(() => validateAlias(input))).toEqual({
          status: 400,
          code: 'invalid_alias',
        })
      }
    }),
  )

  it.each([
    ['ab'],
    ['x'.repeat(65)],
    ['a b c'],
    ['a/b'],
    ['café'],
    ['api'],
    ['API'],
    ['static'],
    ['metrics'],
    ['healthz'],
  ])('rejects the alias %j with 400 invalid_alias', (alias) =>
    hinted('Hint 3: aliases', () => {
      expect(rejection(() => validateAlias(alias))).toEqual({
        status: 400,
        code: 'invalid_alias',
      })
    })(),
  )
})

describe('links: inside the running app', () => {
  const store = createSqliteStore(':memory:')
  const app = createApp({
    store,
    node: 'app-test',
    publicUrl: 'http://127.0.0.1:3000',
  })
  afterAll(() => store.close())

  it(
    'creates a link with a generated code that redirects',
    hinted('Hint 1: codes', async () => {
      const created = await request(app)
        .post('/api/links')
        .send({ url: 'https://example.com/from-the-app' })
      expect(created.status).toBe(201)
      expect(created.body.code).toMatch(/^[0-9A-Za-z]{7}$/)
      const redirect = await request(app).get(`/${created.body.code}`)
      expect(redirect.status).toBe(302)
      expect(redirect.headers.location).toBe('https://example.com/from-the-app')
    }),
  )

  it(
    'refuses a javascript: URL and a reserved alias with 400',
    hinted('Hint 2: URLs', async () => {
      const url = await request(app)
        .post('/api/links')
        .send({ url: 'javascript:alert(1)' })
      expect([url.status, url.body.error?.code]).toEqual([400, 'invalid_url'])
      const alias = await request(app)
        .post('/api/links')
        .send({ url: 'https://example.com/', alias: 'metrics' })
      expect([alias.status, alias.body.error?.code]).toEqual([
        400,
        'invalid_alias',
      ])
    }),
  )

  it(
    'refuses a link to its own address written another way',
    hinted('Hint 2: URLs', async () => {
      for (const url of [
        'http://localhost:3000/abc1234',
        'http://LOCALHOST.:3000/abc1234',
        'http://127.1:3000/abc1234',
      ]) {
        const created = await request(app).post('/api/links').send({ url })
        expect([url, created.status, created.body.error?.code]).toEqual([
          url,
          400,
          'invalid_url',
        ])
      }
    }),
  )
})
