// The wide-area network, as a box on the diagram: each link listens on a
// port of its own and passes TCP through to its target, every chunk delayed
// by `delayMs` in each direction. A request and its answer cross a link
// twice, so one round trip costs 2 x delayMs, as between continents.
// Trade-off: a fixed delay is the least of a real WAN (no jitter, no loss,
// no bandwidth limit), and enough to feel the distance. A link can also be
// cut (a partition) and healed: ask the node's own address, POST /cut or
// /heal with { "links": ["asia -> us-lb", ...] } (all links when none).
import { createServer as createHttpServer } from 'node:http'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { LOOPBACK, listen, type Handle } from '../../../../shared/net'
import { metricsOfProcess } from '../../../../shared/process-stats'

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
  /** The port of the node's own address, where links are cut and healed. */
  port?: number
  host?: string
  links: WanLink[]
}

type Link = Handle & { name: string; cut(down: boolean): void }

export async function startWan(options: WanOptions): Promise<Handle> {
  if (options.links.length === 0)
    throw new TypeError('WanOptions.links is empty')
  const host = options.host ?? LOOPBACK
  const links = await Promise.all(
    options.links.map((link) => listenLink(link, host)),
  )
  const control = createHttpServer((req, res) => {
    const action = /^\/(cut|heal)$/.exec(req.url ?? '')?.[1]
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk))
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        return void res.end(
          JSON.stringify({ status: 'ok', node: options.name }),
        )
      }
      // What the node costs: its links carry bytes, not HTTP answers, so
      // only the CPU time and memory say anything here.
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        return void res.end(
          JSON.stringify({
            node: options.name,
            process: metricsOfProcess(req.socket.localPort),
          }),
        )
      }
      if (req.method !== 'POST' || !action) {
        res.writeHead(404, { 'Content-Type': 'application/json' })
        return void res.end(
          JSON.stringify({
            error: { code: 'not_found', message: 'POST /cut or /heal' },
          }),
        )
      }
      const names = (JSON.parse(body || '{}') as { links?: string[] }).links
      const chosen = links.filter((link) => !names || names.includes(link.name))
      for (const link of chosen) link.cut(action === 'cut')
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ [action]: chosen.map((link) => link.name) }))
    })
  })
  const handle = await listen(control, options.port, host)
  return {
    url: handle.url,
    close: async () => {
      await handle.close()
      await Promise.all(links.map((link) => link.close()))
    },
  }
}

async function listenLink(link: WanLink, host: string): Promise<Link> {
  const { hostname, port } = new URL(link.target)
  const sockets = new Set<Socket>()
  let down = false
  const server: Server = createServer((near) => {
    // A cut link lets no new connection through, as a partition would.
    if (down) return void near.destroy()
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
    name: link.name,
    url: `http://${host}:${address.port}`,
    cut(cut: boolean) {
      down = cut
      if (cut) for (const socket of sockets) socket.destroy()
    },
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
