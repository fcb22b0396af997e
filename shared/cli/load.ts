// npm run load -- step05: the same redirect load against this step and the
// one before it, side by side: latency percentiles and database reads per
// 1,000 redirects. Each system runs as real processes on free ports; the
// load comes from autocannon in this process. Numbers, not claims.
import autocannon from 'autocannon'
import { join } from 'node:path'
import { asProcesses, type RunningNode } from '../launcher'
import { findStep, type Step } from '../steps'
import { tempDir } from '../testing/temp'

interface Started {
  url: string
  nodes: RunningNode[]
  close(): Promise<void>
}

type Metrics = { counters: Record<string, number> }

const REDIRECTS = Number(process.env.REDIRECTS ?? 5000)
const HOT_LINKS = 20

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await fetch(url, init)).json()) as T
}

async function databaseReads(system: Started): Promise<number> {
  const databases = system.nodes.filter((node) => node.role === 'database')
  const counts = await Promise.all(
    databases.map(
      async (node) =>
        (await json<Metrics>(`${node.url}/metrics`)).counters['db.queries'] ??
        0,
    ),
  )
  return counts.reduce((sum, n) => sum + n, 0)
}

async function measure(step: Step) {
  const data = tempDir()
  const { startSystem } = (await import(
    join(step.dir, 'src', 'system.ts')
  )) as {
    startSystem: (options: object, launch: unknown) => Promise<Started>
  }
  const system = await startSystem(
    { dataDir: data.path },
    asProcesses(join(step.dir, 'src', 'main.ts')),
  )
  try {
    const codes: string[] = []
    for (let i = 0; i < HOT_LINKS; i++) {
      const created = await json<{ code: string }>(`${system.url}/api/links`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: `https://example.com/hot/${i}` }),
      })
      codes.push(created.code)
    }
    const before = await databaseReads(system)
    let next = 0
    const result = await autocannon({
      url: system.url,
      connections: 10,
      amount: REDIRECTS,
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            path: `/${codes[next++ % codes.length]}`,
          }),
        },
      ],
    })
    const reads = (await databaseReads(system)) - before
    return {
      step: step.id,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p90 ms': result.latency.p90,
      'p99 ms': result.latency.p99,
      'non-3xx': result.non2xx - result['3xx'],
      'DB reads / 1,000': Math.round((reads / REDIRECTS) * 1000),
    }
  } finally {
    await system.close()
    data.remove()
  }
}

async function main() {
  const step = findStep(process.argv[2] ?? '')
  if (!step || step.number < 2) {
    console.error(
      'Usage: npm run load -- step05   (compares a step, from step 2 on, with the one before)',
    )
    process.exit(2)
  }
  const previous = findStep(String(step.number - 1))!
  console.log(
    `${REDIRECTS} redirects over ${HOT_LINKS} links, 10 connections, against ${previous.id} then ${step.id}...`,
  )
  const rows = [await measure(previous), await measure(step)]
  console.table(rows)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
