// Every component in the workshop is started the same way: bind a port
// (0 picks a free one), resolve to `{ url, close() }`. Tests run components
// in-process on port 0; `npm start` runs the same code as separate processes.
import {
  STATUS_CODES,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface Handle {
  url: string
  close(): Promise<void>
}

export const LOOPBACK = '127.0.0.1'

export function listen(
  server: Server,
  port = 0,
  host = LOOPBACK,
): Promise<Handle> {
  // Trade-off: idle keep-alive connections stay open a long time, so that
  // clients (the balancer after 2 s, fetch after a hint) close them first. A
  // server that closes one just as a client reuses it resets that request.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  answerBadRequestsInJson(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const { port: bound } = server.address() as AddressInfo
      resolve({
        url: `http://${host}:${bound}`,
        close: () => closeServer(server),
      })
    })
  })
}

// Requests that Node refuses before any handler sees them (unparsable, headers
// too large, an Expect we do not know) get the same JSON error shape as every
// other error of the workshop, instead of Node's empty answer.
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'headers_too_large',
    'The request headers are too large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'request_timeout',
    'The request took too long',
  ],
}

function answerBadRequestsInJson(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const [status, code, message] = CLIENT_ERRORS[error.code ?? ''] ?? [
      400,
      'bad_request',
      'The request could not be parsed',
    ]
    // The client went away: nobody is left to answer.
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy()
      return
    }
    socket.end(rawError(status, code, message))
  })
  // No tunnels: a CONNECT would otherwise just be hung up on.
  server.on('connect', (req, socket: Duplex) => {
    socket.end(
      rawError(405, 'method_not_allowed', 'CONNECT is not supported here'),
    )
  })
  // HTTP/1.1 requires Host (RFC 9112, section 3.2): Node's own refusal has
  // no body, so the check moves here, ahead of the server's handlers.
  Object.assign(server, { requireHostHeader: false })
  const handlers = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.httpVersion === '1.1' && !req.headers.host) {
      res.writeHead(400, {
        'Content-Type': 'application/json',
        Connection: 'close',
      })
      return void res.end(
        JSON.stringify({
          error: {
            code: 'bad_request',
            message: 'HTTP/1.1 requests need a Host header',
          },
        }),
      )
    }
    for (const handler of handlers) handler(req, res)
  })
  server.on('checkExpectation', (req, res) => {
    res.writeHead(417, {
      'Content-Type': 'application/json',
      Connection: 'close',
    })
    res.end(
      JSON.stringify({
        error: {
          code: 'expectation_failed',
          message: 'Only Expect: 100-continue is supported',
        },
      }),
    )
  })
}

function rawError(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}

// `server.close()` alone waits for idle keep-alive sockets to time out, which
// would leave tests hanging for seconds; end them too.
// A server that already stopped listening (a drained app server) may still
// hold idle keep-alive connections: end those too.
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      server.closeAllConnections()
      return resolve()
    }
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

export function portOf(url: string): number {
  return Number(new URL(url).port)
}

// A port that was free a moment ago: for peers that must know each other's
// address before either starts. Another process may take it in between, so
// it is drawn from below the ranges operating systems hand out for outgoing
// connections (Linux from 32768, macOS and Windows from 49152): a system's
// own connections can never take it first.
// Never the same port twice from one process: two peers asked at once
// would both find it free.
const handedOut = new Set<number>()

// Jest runs test files in parallel workers, separate processes that cannot
// see each other's picks: each worker (and the nodes it starts) takes its
// own slice of the range, so that two workers never race for one port.
const worker = Number(process.env.JEST_WORKER_ID) || 0
const SLICE = worker ? 3000 : 12_000
const FIRST = worker ? 20_000 + ((worker - 1) % 4) * SLICE : 20_000

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST + Math.floor(Math.random() * SLICE)
    if (handedOut.has(port) || !(await canListen(port))) continue
    handedOut.add(port)
    return port
  }
  throw new Error('No free port between 20000 and 32000')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createTcpServer()
    server.once('error', () => resolve(false))
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)))
  })
}
