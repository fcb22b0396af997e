// The anchors' own servers, each run as its own process by anchors.ts, so
// that the kernel counts each one's CPU apart:
//
//   node anchor-servers.js backend              /healthz: 200, anything else: a 302
//   node anchor-servers.js minimal-proxy URL... round-robin over the URLs
//
// They are as small as Node allows, on purpose: what they cost is the floor
// under any server or proxy written in Node on this machine.
import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http'
import { listen } from '../net'

function backend(req: IncomingMessage, res: ServerResponse) {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('ok')
  } else {
    res.writeHead(302, { Location: 'https://example.com/' })
    res.end()
  }
}

// The whole proxy: pick the next server, stream the request there, stream
// the answer back. No health checks, retries, header rules or limits.
function minimalProxy(servers: string[]) {
  const targets = servers.map((server) => new URL(server))
  const agent = new Agent({ keepAlive: true })
  let next = 0
  return (req: IncomingMessage, res: ServerResponse) => {
    const { hostname, port } = targets[next++ % targets.length]!
    const upstream = request(
      {
        host: hostname,
        port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () =>
      res.headersSent ? res.destroy() : res.writeHead(502).end(),
    )
    req.pipe(upstream)
  }
}

async function main() {
  const [role, ...servers] = process.argv.slice(2)
  const handler = role === 'backend' ? backend : minimalProxy(servers)
  const { url } = await listen(createServer(handler))
  process.send?.({ ready: url })
  // The bench went away (even by SIGKILL): never linger as an orphan.
  process.on('disconnect', () => process.exit(0))
}

void main()
