// A stand-in app server for proxy tests: it records every request it gets
// (method, path, headers, body) and answers with its name, after an optional
// delay, or never ('hang'). Real HTTP on a real port, no mocks.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { listen } from '../net'

export interface Upstream {
  name: string
  url: string
  received: {
    method: string
    url: string
    headers: IncomingHttpHeaders
    body: string
  }[]
  delayMs: number
  hang: boolean
  close(): Promise<void>
}

export async function startUpstream(name: string, port = 0): Promise<Upstream> {
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk))
    req.on('end', () => {
      upstream.received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
      })
      if (upstream.hang) return
      setTimeout(() => {
        res.writeHead(req.url === '/healthz' ? 200 : 201, {
          'Content-Type': 'application/json',
          'X-Served-By': name,
        })
        res.end(JSON.stringify({ node: name, headers: req.headers, body }))
      }, upstream.delayMs)
    })
  })
  const handle = await listen(server, port)
  const upstream: Upstream = {
    name,
    url: handle.url,
    received: [],
    delayMs: 0,
    hang: false,
    close: handle.close,
  }
  return upstream
}
