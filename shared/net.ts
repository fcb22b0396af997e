// Every component in the workshop is started the same way: bind a port
// (0 picks a free one), resolve to `{ url, close() }`. Tests run components
// in-process on port 0; `npm start` runs the same code as separate processes.
import type { Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'

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
// address before either starts. Another process may take it in between.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer()
    server.once('error', reject)
    server.listen(0, LOOPBACK, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
