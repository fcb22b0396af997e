// The wide-area network, as a box on the diagram: each link listens on a
// port of its own and passes TCP through to its target, every chunk delayed
// by `delayMs` in each direction. A request and its answer cross a link
// twice, so one round trip costs 2 x delayMs, as between continents.
// Trade-off: a fixed delay is the least of a real WAN (no jitter, no loss,
// no bandwidth limit), and enough to feel the distance.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { LOOPBACK, type Handle } from '../../../../shared/net'

export interface WanLink {
  /** e.g. "edge-us -> origin" */
  name: string
  port?: number
  /** Where the link leads, e.g. http://127.0.0.1:3050 */
  target: string
  /** One way: a round trip across the link costs twice this. */
  delayMs: number
}

export interface WanOptions {
  name: string
  host?: string
  links: WanLink[]
}

export async function startWan(options: WanOptions): Promise<Handle> {
  if (options.links.length === 0)
    throw new TypeError('WanOptions.links is empty')
  const servers = await Promise.all(
    options.links.map((link) => listenLink(link, options.host ?? LOOPBACK)),
  )
  return {
    url: servers[0]!.url,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()))
    },
  }
}

async function listenLink(link: WanLink, host: string): Promise<Handle> {
  const { hostname, port } = new URL(link.target)
  const sockets = new Set<Socket>()
  const server: Server = createServer((near) => {
    const far = connect(Number(port), hostname)
    for (const socket of [near, far]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        near.destroy()
        far.destroy()
      })
    }
    delayed(near, far, link.delayMs)
    delayed(far, near, link.delayMs)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(link.port ?? 0, host, () => resolve())
  })
  const address = server.address() as { port: number }
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

// Timers of one delay fire in the order they were set: bytes stay in order.
function delayed(from: Socket, to: Socket, delayMs: number) {
  from.on('data', (chunk) => {
    setTimeout(() => to.writable && to.write(chunk), delayMs)
  })
  from.on('end', () => setTimeout(() => to.end(), delayMs))
}
