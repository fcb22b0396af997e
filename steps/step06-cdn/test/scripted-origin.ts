// An origin for the edge's tests whose every answer the test writes: status,
// headers and body per path, with a Date from the test's own clock. Real
// HTTP on a real port; it counts what it was asked and answers conditional
// requests by the ETag it gave.
import { createServer, type IncomingMessage } from 'node:http'
import { listen } from '../../../shared/net'

export interface Scripted {
  status?: number
  headers?: Record<string, string>
  body?: string
  /** Answer this much later: requests meanwhile are concurrent. */
  delayMs?: number
}

export async function startScriptedOrigin(now: () => number = Date.now) {
  const routes = new Map<string, (req: IncomingMessage) => Scripted>()
  const seen: { path: string; headers: IncomingMessage['headers'] }[] = []
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers })
    const route = routes.get(req.url ?? '')
    const answer = route ? route(req) : { status: 404, body: 'none' }
    const headers: Record<string, string> = {
      date: new Date(now()).toUTCString(),
      ...answer.headers,
    }
    const etag = headers.etag
    if (etag && req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers)
      return void res.end()
    }
    setTimeout(() => {
      res.writeHead(answer.status ?? 200, headers)
      res.end(answer.body ?? '')
    }, answer.delayMs ?? 0)
  })
  const handle = await listen(server)
  return {
    url: handle.url,
    route: (path: string, answer: (req: IncomingMessage) => Scripted) =>
      void routes.set(path, answer),
    requests: (path: string) => seen.filter((r) => r.path === path).length,
    seen,
    close: handle.close,
  }
}
