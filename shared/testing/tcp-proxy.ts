// A TCP proxy in front of a real server, for fault tests: it can refuse new
// connections, reset them, hang them (accept and never answer) or add delay,
// the network faults a learner meets between two boxes. It also counts the
// connections it accepted (to prove keep-alive).
import { connect, createServer, type Socket } from 'node:net'
import { LOOPBACK } from '../net'

export type ProxyMode = 'pass' | 'reset' | 'hang'

export interface TcpProxy {
  url: string
  port: number
  connections: number
  /** Chunks of data passed on, both ways. */
  chunks: number
  mode: ProxyMode
  /** Resets the next n connections, then passes again. */
  resetNext(n: number): void
  /** Delay added to every chunk, each way (a slow link). */
  delayMs: number
  /** Closes every open connection through the proxy (a cut link). */
  cut(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target)
  const sockets = new Set<Socket>()
  let resets = 0
  const server = createServer((client) => {
    proxy.connections++
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    if (resets > 0 || proxy.mode === 'reset') {
      resets = Math.max(0, resets - 1)
      client.resetAndDestroy()
      return
    }
    if (proxy.mode === 'hang') return
    const upstream = connect(Number(targetPort), hostname)
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    pipe(client, upstream)
    pipe(upstream, client)
  })
  const pipe = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      proxy.chunks++
      if (proxy.delayMs > 0) setTimeout(() => to.write(chunk), proxy.delayMs)
      else to.write(chunk)
    })
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const proxy: TcpProxy = {
    url: `http://${LOOPBACK}:${port}`,
    port,
    connections: 0,
    chunks: 0,
    mode: 'pass',
    delayMs: 0,
    resetNext: (n) => (resets = n),
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: () =>
      new Promise((resolve) => {
        proxy.cut()
        server.close(() => resolve())
      }),
  }
  return proxy
}
