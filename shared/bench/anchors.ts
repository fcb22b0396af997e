// The anchors: what this machine can do at all, measured beside the steps
// in the same run, so that a step's figures read against a floor instead of
// a guess. (a) A raw node:http server that answers every request with a 302,
// the practical limit of one Node process, against step 1's redirect. (b)
// The same three trivial backends behind a minimal Node proxy, behind our
// load balancer (step 3's, with its health checks, retries and header
// rules), and behind NGINX when it is installed: what a proxy costs.
import autocannon from 'autocannon'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compiled } from '../build'
import { asProcesses, NODE_FLAGS } from '../launcher'
import type { Comparison } from '../load'
import { LOOPBACK, freePort } from '../net'
import { findStep } from '../steps'
import { tempDir } from '../testing/temp'
import { waitFor } from '../wait-for'
import { cpuDuring, cpuMsOf, perThousand } from './cpu'

// A duration, not a count: autocannon ends a counted run only on its next
// one-second tick, which would round every rate.
const SECONDS = Number(process.env.ANCHOR_SECONDS ?? 5)
const CONNECTIONS = 50
// Enough for V8 to compile the hot paths before the counted load: with
// less, the first rounds cost up to a fifth more CPU per request.
const WARM_UP_SECONDS = Math.max(1, Math.round(SECONDS / 2))

interface Server {
  url: string
  pid: number
  close(): Promise<void>
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

// One of anchor-servers.ts's roles, as its own process.
async function startAnchor(role: string, ...args: string[]): Promise<Server> {
  const js = await compiled(join(__dirname, 'anchor-servers.ts'))
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, js, role, ...args], // as our nodes run
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  let url: string | undefined
  child.on('message', (message: { ready?: string }) => (url = message.ready))
  await waitFor(`the ${role} to start`, () => url)
  return { url: url!, pid: child.pid!, close: () => stop(child) }
}

/** NGINX's version, or undefined when `nginx` is not on PATH. */
export function nginxVersion(): string | undefined {
  const found = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  if (found.error) return undefined
  return /nginx\/(\S+)/.exec(found.stderr)?.[1] ?? 'unknown version'
}

// NGINX as a reverse proxy the way it is usually run: one worker, HTTP/1.1
// to the upstreams with a pool of idle connections (what our agent does),
// no access log. Everything it writes stays in a temporary folder.
export async function startNginx(servers: string[]): Promise<Server> {
  const dir = tempDir()
  const port = await freePort()
  for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(dir.path, temp))
  const conf = join(dir.path, 'nginx.conf')
  writeFileSync(
    conf,
    `worker_processes 1;
pid ${dir.path}/nginx.pid;
error_log ${dir.path}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir.path}/body;
  proxy_temp_path ${dir.path}/proxy;
  fastcgi_temp_path ${dir.path}/fastcgi;
  uwsgi_temp_path ${dir.path}/uwsgi;
  scgi_temp_path ${dir.path}/scgi;
  upstream app {
${servers.map((server) => `    server ${new URL(server).host};`).join('\n')}
    keepalive 32;
  }
  server {
    listen ${LOOPBACK}:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  )
  const child = spawn(
    'nginx',
    [
      '-p',
      dir.path,
      '-e',
      join(dir.path, 'error.log'),
      '-c',
      conf,
      '-g',
      'daemon off;',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
  const url = `http://${LOOPBACK}:${port}`
  await waitFor('nginx to answer', async () => {
    if (child.exitCode !== null)
      throw new Error(`nginx exited with code ${child.exitCode}`)
    return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok
  })
  return {
    url,
    pid: child.pid!,
    close: async () => {
      await stop(child)
      dir.remove()
    },
  }
}

// Step 3's load balancer as the steps run it: its own node process.
async function startOurBalancer(servers: string[]): Promise<Server> {
  const step = findStep('3')!
  const launch = asProcesses(join(step.dir, 'src', 'main.ts'))
  const node = await launch('load-balancer', {
    name: 'load-balancer',
    servers,
  } as never)
  return node
}

// Warm up, then the counted load, with the CPU time of `pids` only.
async function load(url: string, pids: number[]) {
  await autocannon({ url, connections: CONNECTIONS, duration: WARM_UP_SECONDS })
  const { result, cpuMs } = await cpuDuring(pids, () =>
    autocannon({ url, connections: CONNECTIONS, duration: SECONDS }),
  )
  return { result, cpuMs }
}

type Loaded = Awaited<ReturnType<typeof load>>

function row(what: string, path: string, expected: 200 | 302, loaded: Loaded) {
  const { result, cpuMs } = loaded
  const answered = result['2xx'] + result['3xx'] + result['4xx'] + result['5xx']
  const right = expected === 200 ? result['2xx'] : result['3xx']
  return {
    anchor: what,
    path,
    'wrong status': answered - right,
    errors: result.errors + result.timeouts,
    'CPU ms / 1,000': perThousand(cpuMs, result.requests.total),
    'req/s': Math.round(result.requests.total / SECONDS),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
  }
}

async function rawNodeAgainstStep1() {
  const { startStep } = await import('../load')
  const raw = await startAnchor('backend')
  const { system, close } = await startStep(findStep('1')!)
  try {
    const created = (await (
      await fetch(`${system.url}/api/links`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/anchor' }),
      })
    ).json()) as { code: string }
    return [
      row(
        'raw node:http 302',
        '/abc1234',
        302,
        await load(`${raw.url}/abc1234`, [raw.pid]),
      ),
      row(
        'step 1 redirect (Express + SQLite)',
        `/${created.code}`,
        302,
        await load(
          `${system.url}/${created.code}`,
          system.nodes.map((node) => node.pid),
        ),
      ),
    ]
  } finally {
    await close()
    await raw.close()
  }
}

// What the proxies carry, and the status each answer must have.
const PROXIED_PATHS = [
  ['/healthz', 200],
  ['/abc1234', 302],
] as const

async function proxies() {
  const backends = await Promise.all(
    [1, 2, 3].map(() => startAnchor('backend')),
  )
  const urls = backends.map((backend) => backend.url)
  const version = nginxVersion()
  const running: { what: string; server?: Server; missing?: string }[] = [
    {
      what: 'minimal Node proxy',
      server: await startAnchor('minimal-proxy', ...urls),
    },
    { what: 'our load balancer', server: await startOurBalancer(urls) },
    version
      ? { what: `NGINX ${version}, 1 worker`, server: await startNginx(urls) }
      : { what: 'NGINX', missing: 'nginx not on PATH' },
  ]
  try {
    const rows: object[] = []
    for (const [path, expected] of PROXIED_PATHS) {
      for (const { what, server, missing } of running) {
        if (!server) {
          rows.push({ anchor: what, path, 'wrong status': missing })
          continue
        }
        console.log(`  ${what}, ${path}...`)
        rows.push(
          row(
            what,
            path,
            expected,
            await load(`${server.url}${path}`, [server.pid]),
          ),
        )
      }
    }
    return rows
  } finally {
    for (const { server } of running) await server?.close()
    for (const backend of backends) await backend.close()
  }
}

// Our balancer's cost against the minimal proxy's, measured so that the
// machine's state cancels out: both proxies carry the same fixed rate of
// requests at the same time, over the same backends, round after round. Run
// one after the other at full speed, the two figures would come from
// different moments of a shared machine (and from different rates: a proxy
// at full speed batches more per wake-up and pays less per request), and
// their ratio swings by a third from one run to the next.
const PAIRED_RATE = 1000 // requests per second, to each proxy
const PAIRED_ROUNDS = Number(process.env.PAIRED_ROUNDS ?? 5)

async function pairedRounds() {
  const backends = await Promise.all(
    [1, 2, 3].map(() => startAnchor('backend')),
  )
  const urls = backends.map((backend) => backend.url)
  const minimal = await startAnchor('minimal-proxy', ...urls)
  const ours = await startOurBalancer(urls)
  const both = (path: string, seconds: number) =>
    Promise.all(
      [minimal, ours].map((proxy) =>
        autocannon({
          url: `${proxy.url}${path}`,
          connections: CONNECTIONS / 2,
          duration: seconds,
          overallRate: PAIRED_RATE,
        }),
      ),
    )
  try {
    const rows: object[] = []
    for (const [path, expected] of PROXIED_PATHS) {
      console.log(`  both proxies, ${path}...`)
      await both(path, WARM_UP_SECONDS)
      for (let round = 1; round <= PAIRED_ROUNDS; round++) {
        const before = [minimal, ours].map((proxy) => cpuMsOf([proxy.pid]))
        const results = await both(path, SECONDS)
        const [m, o] = results.map((result, i) =>
          perThousand(
            cpuMsOf([[minimal, ours][i]!.pid]) - before[i]!,
            result.requests.total,
          ),
        ) as [number, number]
        const wrong = results.map(
          (r) =>
            r.errors +
            r.timeouts +
            r.requests.total -
            (expected === 200 ? r['2xx'] : r['3xx']),
        )
        rows.push({
          path,
          round: String(round), // a label, not a figure
          'wrong or errors': wrong[0]! + wrong[1]!,
          'minimal proxy CPU ms / 1,000': m,
          'our balancer CPU ms / 1,000': o,
          'ours / minimal': Number((o / m).toFixed(2)),
          'p99 ms (minimal)': results[0]!.latency.p99,
          'p99 ms (ours)': results[1]!.latency.p99,
        })
      }
    }
    return rows
  } finally {
    await ours.close()
    await minimal.close()
    for (const backend of backends) await backend.close()
  }
}

type Row = Record<string, unknown>

/** Our balancer's CPU per request over the minimal proxy's, per path: the
 * median of the paired rounds, with their range. */
export function balancerRatios(rows: object[]): string {
  return ['/healthz', '/abc1234']
    .map((path) => {
      const ratios = (rows as Row[])
        .filter((row) => row.path === path)
        .map((row) => row['ours / minimal'])
        .filter((ratio): ratio is number => typeof ratio === 'number')
        .sort((a, b) => a - b)
      const what = path === '/healthz' ? '/healthz' : 'a redirect'
      if (ratios.length === 0) return `${what}: ?`
      const median = ratios[Math.floor(ratios.length / 2)]!
      return `${what}: ${median.toFixed(2)}x (rounds ${ratios[0]!.toFixed(2)}-${ratios.at(-1)!.toFixed(2)})`
    })
    .join(', ')
}

/** Our balancer against the minimal proxy, in the shape of a comparison. */
export function balancerCost(): Comparison[] {
  return [
    {
      heading: `Our load balancer and the minimal Node proxy side by side, ${PAIRED_RATE} requests/s to each at the same time (${CONNECTIONS / 2} connections each) over the same three trivial backends, ${PAIRED_ROUNDS} rounds of ${SECONDS} s per path`,
      note: "CPU ms per 1,000 requests of each proxy's process. The target: ours at most 1.2x the minimal proxy's (the median round).",
      workload: 'paired',
      run: pairedRounds,
    },
  ]
}

/** The anchors, in the shape of a step's comparisons. */
export function anchors(): Comparison[] {
  return [
    {
      heading: `${SECONDS} s of requests, ${CONNECTIONS} connections: a raw node:http server answering 302, then step 1's redirect`,
      note: 'CPU ms per 1,000 requests of the server processes only (step 1: its one node).',
      workload: 'redirect',
      run: rawNodeAgainstStep1,
    },
    {
      heading: `${SECONDS} s of requests, ${CONNECTIONS} connections, over the same three trivial node:http backends: a minimal Node proxy, our load balancer, NGINX`,
      note: "CPU ms per 1,000 requests of the proxy's process alone (NGINX: master and worker). Run one after the other at full speed; the next section compares our balancer with the minimal proxy under the same load.",
      workload: 'proxied',
      run: proxies,
    },
  ]
}
