// The launcher's control address: while `npm start` runs, commands ask it
// to kill or restart a node by name (`npm run chaos`, later the dashboard),
// or to run one of the step's own actions (`npm run reshard` in step 9),
// whose progress lines stream back as they come.
// Loopback only, and every call carries the run's token, so no other user
// and no web page can reach into the running processes.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import type { RunningNode } from './launcher'
import { listen, type Handle } from './net'

export interface Control extends Handle {
  token: string
}

/** A step's own action; it reports progress line by line. */
export type SystemAction = (progress: (line: string) => void) => Promise<object>

export async function startControl(
  nodes: RunningNode[],
  changed: () => void,
  systemActions: Record<string, SystemAction> = {},
): Promise<Control> {
  const token = randomBytes(24).toString('base64url')
  const expected = Buffer.from(`Bearer ${token}`)
  const actions: Record<string, (node: RunningNode) => Promise<void>> = {
    kill: (node) => node.kill(),
    restart: (node) => node.restart(),
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const given = Buffer.from(req.headers.authorization ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return reply(res, 401, { error: "This run's token is required" })
    const system = /^\/system\/([\w-]+)$/.exec(req.url ?? '')
    if (req.method === 'POST' && system) {
      const action = Object.hasOwn(systemActions, system[1]!)
        ? systemActions[system[1]!]
        : undefined
      if (!action) return reply(res, 404, { error: `No action ${system[1]}` })
      // One line per step of progress, then the result as the last line.
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      try {
        const result = await action((line) => res.write(`${line}\n`))
        changed()
        res.end(`${JSON.stringify({ result })}\n`)
      } catch (error: unknown) {
        res.end(`${JSON.stringify({ error: (error as Error).message })}\n`)
      }
      return
    }
    const match = /^\/nodes\/([\w.-]+)\/(kill|restart)$/.exec(req.url ?? '')
    if (req.method !== 'POST' || !match)
      return reply(res, 404, { error: 'POST /nodes/<name>/kill or /restart' })
    const node = nodes.find((n) => n.name === match[1])
    if (!node) return reply(res, 404, { error: `No node named ${match[1]}` })
    await actions[match[2]!]!(node)
    changed()
    reply(res, 200, {
      name: node.name,
      pid: node.pid,
      url: node.url,
      alive: node.alive,
    })
  }

  const server = await listen(
    createServer((req, res) => {
      handle(req, res).catch((error: unknown) =>
        reply(res, 500, { error: (error as Error).message }),
      )
    }),
  )
  return { ...server, token }
}

function reply(res: ServerResponse, status: number, body: object) {
  if (res.headersSent) return
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}
