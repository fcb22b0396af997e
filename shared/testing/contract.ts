// The app's contract (DESIGN section 4) as tests, run by every step against
// its whole system's front door. However many boxes stand behind that door,
// a client must see the same shortener.
import { createLink, postJson, send, uniqueUrl, type Reply } from './http'
import { waitFor } from '../wait-for'
import { tempDir } from './temp'

export interface ContractOptions {
  /** From step 8 on a worker counts the clicks, later: the details catch
   * up, and say how far behind they may be (clicksLagMs). */
  eventualClicks?: boolean
}

export function contractTests(
  frontDoor: () => string,
  { eventualClicks = false }: ContractOptions = {},
): void {
  const base = () => frontDoor()

  it('creates a link and redirects to it with a 302 that shared caches do not store', async () => {
    const url = uniqueUrl()
    const created = await postJson(base(), '/api/links', { url })
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ url, expiresAt: null })
    expect(created.json.code).toMatch(/^[0-9A-Za-z]{7}$/)
    expect(created.json.shortUrl).toMatch(new RegExp(`/${created.json.code}$`))
    expect(typeof created.json.deleteToken).toBe('string')

    const redirect = await send(base(), `/${created.json.code}`)
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe(url)
    expect(redirect.headers.get('cache-control')).toMatch(/no-store|private/)
  })

  it('counts clicks and shows them in the link details', async () => {
    const link = await createLink(base())
    await send(base(), `/${link.code}`)
    await send(base(), `/${link.code}`)
    const read = () => send(base(), `/api/links/${link.code}`)
    const details = eventualClicks
      ? await waitFor('the worker to count both clicks', async () => {
          const reply = await read()
          return reply.json?.clicks === 2 ? reply : undefined
        })
      : await read()
    expect(details.status).toBe(200)
    const { clicksLagMs, ...fields } = details.json ?? {}
    if (eventualClicks)
      expect(clicksLagMs === null || typeof clicksLagMs === 'number').toBe(true)
    else expect(clicksLagMs).toBeUndefined()
    expect(fields).toEqual({
      code: link.code,
      url: link.url,
      createdAt: link.createdAt,
      expiresAt: null,
      clicks: 2,
    })
  })

  it('answers a wrong method with 405 and Allow, OPTIONS with Allow, and a HEAD of a short link without a click', async () => {
    const wrong = await send(base(), '/api/links', { method: 'PUT' })
    expectError(wrong, 405, 'method_not_allowed')
    expect(wrong.headers.get('allow')).toBe('POST, OPTIONS')
    const options = await send(base(), '/api/links', { method: 'OPTIONS' })
    expect(options.status).toBeLessThan(300)
    expect(options.headers.get('allow')).toBe('POST, OPTIONS')
    const link = await createLink(base())
    for (let i = 0; i < 3; i++) {
      const head = await send(base(), `/${link.code}`, { method: 'HEAD' })
      expect(head.status).toBe(302)
    }
    // The one GET counted after three HEADs: a HEAD counted would show.
    expect((await send(base(), `/${link.code}`)).status).toBe(302)
    const read = () => send(base(), `/api/links/${link.code}`)
    const details = eventualClicks
      ? await waitFor('the worker to count the click', async () => {
          const reply = await read()
          return reply.json?.clicks >= 1 ? reply : undefined
        })
      : await read()
    expect(details.json.clicks).toBe(1)
  })

  it('creates a link under a chosen alias and refuses the alias a second time', async () => {
    const alias = `my-alias_${Date.now()}`
    const first = await createLink(base(), { alias })
    expect(first.code).toBe(alias)
    expect((await send(base(), `/${alias}`)).status).toBe(302)
    const second = await postJson(base(), '/api/links', {
      url: uniqueUrl(),
      alias,
    })
    expectError(second, 409, 'alias_taken')
  })

  it('answers 404 with a JSON error for an unknown code', async () => {
    expectError(await send(base(), '/unknown-code-x'), 404, 'not_found')
  })

  it('answers 410 once a link has expired', async () => {
    const link = await createLink(base(), { expiresInSeconds: 1 })
    expect(link.expiresAt).toBe(link.createdAt + 1000)
    expect((await send(base(), `/${link.code}`)).status).toBe(302)
    const gone = await waitFor('the link to expire', async () => {
      const reply = await send(base(), `/${link.code}`)
      return reply.status === 410 && reply
    })
    expectError(gone, 410, 'expired')
  })

  it('deletes a link only with its delete token, then answers 410', async () => {
    const link = await createLink(base())
    const path = `/api/links/${link.code}`
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })
    expectError(
      await send(base(), path, { method: 'DELETE' }),
      401,
      'missing_token',
    )
    const wrong = await send(base(), path, {
      method: 'DELETE',
      headers: bearer('nope'),
    })
    expectError(wrong, 403, 'wrong_token')
    expect((await send(base(), `/${link.code}`)).status).toBe(302)

    const deleted = await send(base(), path, {
      method: 'DELETE',
      headers: bearer(link.deleteToken),
    })
    expect(deleted.status).toBe(204)
    expectError(await send(base(), `/${link.code}`), 410, 'deleted')
    expectError(await send(base(), path), 410, 'deleted')
  })

  it('reports health and counters, and names the node that served every response', async () => {
    const health = await send(base(), '/healthz')
    expect(health.status).toBe(200)
    expect(health.json).toMatchObject({
      status: 'ok',
      node: expect.any(String),
    })
    expect(health.headers.get('x-served-by')).toBeTruthy()
    const metrics = await send(base(), '/metrics')
    expect(metrics.status).toBe(200)
    expect(metrics.json.counters['http.requests']).toBeGreaterThan(0)
    const missing = await send(base(), '/unknown-code-y')
    expect(missing.headers.get('x-served-by')).toBeTruthy()
  })

  it('serves the HTML page with its stylesheet and script', async () => {
    const page = await send(base(), '/')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    const assets = [...page.body.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)]
    expect(assets.map((match) => match[1])).toHaveLength(2)
    for (const [, asset] of assets) {
      const reply = await send(base(), asset!)
      expect(reply.status).toBe(200)
      expect(reply.headers.get('content-type')).toMatch(/css|javascript/)
    }
  })
}

export function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({
    status,
    code,
  })
  expect(typeof reply.json.error.message).toBe('string')
}

// With PUBLIC_URL naming another address (a domain in front of the step),
// short URLs use it, and no link may point back at the shortener under any
// of its names: the public one, or the front door it still listens on.
// `start` starts the step's system with that PUBLIC_URL, in a fresh folder.
export function publicUrlSuite(
  start: (
    publicUrl: string,
    dataDir: string,
  ) => Promise<{ url: string; close(): Promise<void> }>,
): void {
  describe('with PUBLIC_URL naming another address', () => {
    const publicUrl = 'https://sho.rt'
    const data = tempDir()
    let system: { url: string; close(): Promise<void> }
    beforeAll(async () => {
      system = await start(publicUrl, data.path)
    })
    afterAll(async () => {
      await system.close()
      data.remove()
    })

    it('gives short URLs on PUBLIC_URL and refuses a link to it or to the front door, under any loopback name', async () => {
      const frontDoor = system.url
      const created = await postJson(frontDoor, '/api/links', {
        url: uniqueUrl(),
      })
      expect(created.json.shortUrl).toBe(`${publicUrl}/${created.json.code}`)
      const { port } = new URL(frontDoor)
      for (const url of [
        `${publicUrl}/abc`,
        `${frontDoor}/abc`,
        `http://localhost:${port}/abc`,
        `http://[::1]:${port}/abc`,
      ]) {
        const reply = await postJson(frontDoor, '/api/links', { url })
        expectError(reply, 400, 'invalid_url')
      }
    })
  })
}
