import { createServer, type Server } from 'node:http'
import { httpCall } from '../src/common/http-call'
import { closeServer, listen } from '../../../shared/net'

describe('httpCall: node:http in the shape of fetch, for calls between nodes', () => {
  let server: Server
  let url: string
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return // never answers
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk))
      req.on('end', () => {
        const status = req.url === '/missing' ? 404 : 200
        res.writeHead(status, { 'Content-Type': 'application/json' })
        res.end(
          JSON.stringify({
            method: req.method,
            body,
            auth: req.headers.authorization,
          }),
        )
      })
    })
    url = (await listen(server)).url
  })
  afterAll(() => closeServer(server))

  it('sends the method, headers and body, and reads the JSON answer', async () => {
    const reply = await httpCall(`${url}/x`, {
      method: 'POST',
      headers: { Authorization: 'Bearer t' },
      body: '{"a":1}',
    })
    expect(reply.status).toBe(200)
    expect(reply.ok).toBe(true)
    expect(await reply.json()).toEqual({
      method: 'POST',
      body: '{"a":1}',
      auth: 'Bearer t',
    })
  })

  it('says not ok for an answer outside 2xx, as fetch does', async () => {
    const reply = await httpCall(`${url}/missing`)
    expect(reply.status).toBe(404)
    expect(reply.ok).toBe(false)
  })

  it('gives up when its signal aborts, and rejects when nothing listens', async () => {
    await expect(
      httpCall(`${url}/hang`, { signal: AbortSignal.timeout(50) }),
    ).rejects.toThrow()
    await expect(httpCall('http://127.0.0.1:1/')).rejects.toThrow(
      /ECONNREFUSED/,
    )
  })
})
