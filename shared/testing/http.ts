// Small fetch helpers for tests that talk to a system through its front door
// with real HTTP, as curl would: redirects are not followed.

export interface Reply {
  status: number
  headers: Headers
  body: string
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function send(
  base: string,
  path: string,
  init: RequestInit = {},
): Promise<Reply> {
  const response = await fetch(new URL(path, base), {
    redirect: 'manual',
    ...init,
  })
  const body = await response.text()
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, body, json }
}

export function postJson(
  base: string,
  path: string,
  value: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return send(base, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(value),
  })
}

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

export async function createLink(
  base: string,
  body: Record<string, unknown> = {},
): Promise<CreatedLink> {
  const reply = await postJson(base, '/api/links', {
    url: uniqueUrl(),
    ...body,
  })
  if (reply.status !== 201) {
    throw new Error(`POST /api/links answered ${reply.status}: ${reply.body}`)
  }
  return reply.json as CreatedLink
}
