// Small fetch helpers for tests that talk to a system through its front door
// with real HTTP, as curl would: redirects are not followed.

export interface Reply {
  status: number
  headers: Headers
  body: string
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

// Like a browser, a test client keeps the cookies each origin sets and sends
// them back (from step 4 on, the app's db_seq cookie gives a client
// read-your-writes). The functions below are one shared client, for the life
// of the test file; newClient() makes another, with a jar of its own.
export interface Client {
  send(base: string, path: string, init?: RequestInit): Promise<Reply>
  postJson(
    base: string,
    path: string,
    value: unknown,
    headers?: Record<string, string>,
  ): Promise<Reply>
  createLink(base: string, body?: Record<string, unknown>): Promise<CreatedLink>
}

export function newClient(): Client {
  const jar = new Map<string, Map<string, string>>()
  const client: Client = {
    async send(base, path, init = {}) {
      const url = new URL(path, base)
      const cookies = jar.get(url.origin) ?? new Map<string, string>()
      const headers = new Headers(init.headers)
      if (cookies.size > 0 && !headers.has('cookie')) {
        headers.set(
          'cookie',
          [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        )
      }
      // A deadline on every request: a hung server fails the test, not the run.
      const signal = init.signal ?? AbortSignal.timeout(15_000)
      const response = await fetch(url, {
        redirect: 'manual',
        ...init,
        headers,
        signal,
      })
      for (const cookie of response.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';')
        const [name, value] = pair.split('=')
        if (name && value !== undefined) cookies.set(name.trim(), value)
      }
      jar.set(url.origin, cookies)
      const body = await response.text()
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, body, json }
    },
    postJson: (base, path, value, headers = {}) =>
      client.send(base, path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify(value),
      }),
    async createLink(base, body = {}) {
      const reply = await client.postJson(base, '/api/links', {
        url: uniqueUrl(),
        ...body,
      })
      if (reply.status !== 201) {
        throw new Error(
          `POST /api/links answered ${reply.status}: ${reply.body}`,
        )
      }
      return reply.json as CreatedLink
    },
  }
  return client
}

const shared = newClient()
export const send = shared.send
export const postJson = shared.postJson
export const createLink = shared.createLink

export interface CreatedLink {
  code: string
  shortUrl: string
  url: string
  createdAt: number
  expiresAt: number | null
  deleteToken: string
}

let counter = 0
// A URL no other test uses, so tests never see each other's links.
export function uniqueUrl(): string {
  counter += 1
  return `https://example.com/${process.pid}/${Date.now()}/${counter}`
}
