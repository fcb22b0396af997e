// The exercise: code generation and URL/alias validation. `npm test -- step01`
// runs these against exercises/; each failure names the hint to read.
import request from 'supertest'
import { hinted } from '../../../shared/testing/hint'
import { HttpError } from '../src/http-error'
import {
  ALPHABET,
  CODE_LENGTH,
  generateCode,
  validateAlias,
  validateUrl,
} from '../src/links'
import { createApp } from '../src/app'
import { createSqliteStore } from '../src/sqlite-store'

function rejection(
  run: () => unknown,
): { status: number; code: string } | string {
  try {
    return `accepted, returned ${JSON.stringify(run())}`
  } catch (error: unknown) {
    if (error instanceof HttpError)
      return { status: error.status, code: error.code }
    throw error
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
    [`https://example.com/${'x'.repeat(2048)}`],
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
  const app = createApp({ store, node: 'app-test' })
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
})
