// What `npm run load` and `npm run bench` measure: for each step, the same
// load against it and against the step before, side by side. Each system
// runs as real processes on free ports; the load comes from autocannon in
// this process. Numbers, not claims. The sizes come from the environment
// (REDIRECTS, CREATES, BACKLOG), so that a quick bench can shrink them.
// Figures that hold on a busy machine come first in each row (counts, CPU
// time per request from the kernel's counters, less what the nodes spend
// idle); requests/s and latency, which move with whatever else the machine
// runs, after them.
import autocannon from 'autocannon'
import { Queue } from 'bullmq'
import { join } from 'node:path'
import {
  cpuOfLoad,
  cpuOfWork,
  idleRate,
  NO_FIGURE,
  perThousand,
} from './bench/cpu'
import { asProcesses, type RunningNode } from './launcher'
import { findStep, type Step } from './steps'
import { tempDir } from './testing/temp'

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

// `amount` GETs at `url`, 10 connections unless told, each for the next of
// `paths` in turn: the same few hot links over and over.
function inTurn(
  url: string,
  paths: string[],
  amount: number,
  connections = 10,
) {
  let next = 0
  return autocannon({
    url,
    connections,
    amount,
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: paths[next++ % paths.length]!,
        }),
      },
    ],
  })
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

const pidsOf = (system: Started) => system.nodes.map((node) => node.pid)

// The step's whole topology as real processes, on free ports.
export async function startStep<S extends Started>(
  step: Step,
  options: object = {},
) {
  const data = tempDir()
  const { startSystem } = (await import(
    join(step.dir, 'src', 'system.ts')
  )) as {
    startSystem: (options: object, launch: unknown) => Promise<S>
  }
  const system = await startSystem(
    { dataDir: data.path, ...options },
    asProcesses(join(step.dir, 'src', 'main.ts')),
  )
  return {
    system,
    close: async () => {
      await system.close()
      data.remove()
    },
  }
}

async function measure(step: Step) {
  const { system, close } = await startStep(step)
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
    const { result, cpuMs } = await cpuOfLoad(pidsOf(system), () =>
      inTurn(
        system.url,
        codes.map((code) => `/${code}`),
        REDIRECTS,
        10,
      ),
    )
    const reads = (await databaseReads(system)) - before
    return {
      step: step.id,
      'non-3xx': result.non2xx - result['3xx'],
      'DB reads / 1,000': Math.round((reads / REDIRECTS) * 1000),
      'CPU ms / 1,000': perThousand(cpuMs, REDIRECTS),
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p90 ms': result.latency.p90,
      'p99 ms': result.latency.p99,
    }
  } finally {
    await close()
  }
}

// Step 6: a static asset for a client in the US, straight from the origin in
// Asia (every request crosses the WAN) and through the warm edge-us.
async function measureCdn(step: Step) {
  const { system, close } = await startStep<Started & { originFromUs: string }>(
    step,
    { edgeRateLimit: false },
  )
  try {
    const edge = system.url
    const page = await (await fetch(`${edge}/`)).text()
    const asset = /\/static\/app\.[0-9a-f]+\.css/.exec(page)![0]
    await fetch(`${edge}${asset}`) // warm
    const originRequests = async () =>
      (await json<Metrics>(`${edge}/_edge/metrics`)).counters[
        'edge.origin_requests'
      ] ?? 0
    const rows = []
    for (const [label, base] of [
      ['US client -> origin', system.originFromUs],
      ['US client -> edge-us', edge],
    ] as const) {
      const before = await originRequests()
      const { result, cpuMs } = await cpuOfLoad(pidsOf(system), () =>
        autocannon({
          url: `${base}${asset}`,
          connections: 10,
          amount: REDIRECTS,
        }),
      )
      const fromEdge = (await originRequests()) - before
      rows.push({
        path: label,
        non2xx: result.non2xx,
        'origin requests / 1,000': Math.round(
          ((base === edge ? fromEdge : REDIRECTS) / REDIRECTS) * 1000,
        ),
        'CPU ms / 1,000': perThousand(cpuMs, REDIRECTS),
        'req/s': Math.round(result.requests.average),
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
      })
    }
    return rows
  } finally {
    await close()
  }
}

// Step 7: what a client in the US waits for, in step 6 (one region, across
// the WAN) and in step 7 (served in its own region): reading a link's
// details, and what still crosses to the primary: creating a link, and a
// redirect, which writes its click there before it answers (until step 8).
async function measureRegions(step: Step) {
  const { system, close } = await startStep(step, { edgeRateLimit: false })
  try {
    const edge = system.url // edge-us in both steps
    const codes: string[] = []
    const createMs: number[] = []
    for (let i = 0; i < HOT_LINKS; i++) {
      const started = performance.now()
      const created = await json<{ code: string }>(`${edge}/api/links`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: `https://example.com/far/${i}` }),
      })
      createMs.push(performance.now() - started)
      codes.push(created.code)
    }
    const { result, cpuMs } = await cpuOfLoad(pidsOf(system), () =>
      inTurn(
        edge,
        codes.map((code) => `/api/links/${code}`),
        REDIRECTS,
        10,
      ),
    )
    const redirectMs: number[] = []
    for (const code of codes) {
      const started = performance.now()
      const reply = await fetch(`${edge}/${code}`, { redirect: 'manual' })
      await reply.arrayBuffer()
      redirectMs.push(performance.now() - started)
    }
    const median = (ms: number[]) =>
      Math.round(ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!)
    return {
      step: step.id,
      'details non-2xx': result.non2xx,
      'details CPU ms / 1,000': perThousand(cpuMs, REDIRECTS),
      'details p50 ms': result.latency.p50,
      'details p99 ms': result.latency.p99,
      'create p50 ms': median(createMs),
      'redirect p50 ms': median(redirectMs),
    }
  } finally {
    await close()
  }
}

// Step 8: a redirect for a client in the US, which in step 7 writes its
// click to the primary across the WAN before it answers, and in step 8
// publishes an event instead. Then how soon the clicks are all counted.
const BACKLOG = Number(process.env.BACKLOG ?? 50_000)
const QUEUED_REDIRECTS = Number(process.env.REDIRECTS ?? 2000)
const QUEUED_CONNECTIONS = 50

async function createHotLinks(base: string, prefix: string) {
  const codes: string[] = []
  for (let i = 0; i < HOT_LINKS; i++) {
    const created = await json<{ code: string }>(`${base}/api/links`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/${prefix}/${i}` }),
    })
    codes.push(created.code)
  }
  return codes
}

async function clicksOf(base: string, codes: string[]) {
  const counts = await Promise.all(
    codes.map(
      async (code) =>
        (await json<{ clicks: number }>(`${base}/api/links/${code}`)).clicks,
    ),
  )
  return counts.reduce((sum, n) => sum + n, 0)
}

async function measureQueue(step: Step) {
  const { system, close } = await startStep(step, { edgeRateLimit: false })
  try {
    const edge = system.url // edge-us: a client in the US
    const codes = await createHotLinks(edge, 'queued')
    let endedAt = 0
    let counted = 0
    // The CPU until every click is counted: step 8 defers that work to the
    // workers, and a redirect's cost includes it.
    const { result, cpuMs } = await cpuOfLoad(pidsOf(system), async () => {
      const result = await inTurn(
        edge,
        codes.map((code) => `/${code}`),
        QUEUED_REDIRECTS,
        QUEUED_CONNECTIONS,
      )
      endedAt = performance.now()
      counted = await clicksOf(edge, codes)
      while (
        counted < QUEUED_REDIRECTS &&
        performance.now() - endedAt < 60_000
      ) {
        // Every 200 ms: the polling's own reads stay a few % of the load.
        await new Promise((resolve) => setTimeout(resolve, 200))
        counted = await clicksOf(edge, codes)
      }
      return result
    })
    const countedAfterMs = Math.round(performance.now() - endedAt)
    return {
      step: step.id,
      'non-3xx': result.non2xx - result['3xx'],
      'clicks counted': counted,
      'CPU ms / 1,000 (with the counting)': perThousand(
        cpuMs,
        QUEUED_REDIRECTS,
      ),
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'all counted, ms after the load': countedAfterMs,
    }
  } finally {
    await close()
  }
}

// A backlog of click events, written straight into the clicks queue while
// the click-analytics worker is stopped, then drained by it.
async function measureDrain(step: Step) {
  const { system, close } = await startStep(step, { edgeRateLimit: false })
  try {
    const codes = await createHotLinks(system.url, 'backlog')
    const worker = system.nodes.find((n) => n.name === 'click-analytics')!
    const redis = system.nodes.find((n) => n.name === 'redis-asia')!
    await worker.kill()
    const clicks = new Queue('clicks', { connection: { url: redis.url } })
    for (let from = 0; from < BACKLOG; from += 1000) {
      await clicks.addBulk(
        Array.from({ length: Math.min(1000, BACKLOG - from) }, (_, i) => {
          const id = `backlog-${from + i}`
          const event = {
            id,
            type: 'link.clicked',
            code: codes[(from + i) % codes.length],
            at: Date.now(),
          }
          return {
            name: 'link.clicked',
            data: event,
            opts: { jobId: id, removeOnComplete: true },
          }
        }),
      )
    }
    // The others' idle rate while the worker is down: once it is back, it
    // drains from its first moment, and no second of it is idle.
    const idlePerMs = await idleRate(
      pidsOf(system).filter((p) => p !== worker.pid),
    )
    const startedAt = performance.now()
    let drainedAt = startedAt
    let counted = 0
    await worker.restart()
    // Read after the restart: the worker has a new pid, and its start-up is
    // not the cost of an event.
    const { cpuMs } = await cpuOfWork(
      pidsOf(system),
      async () => {
        // The wait must not compete with the worker for the cores: one
        // read of the queue's lengths in Redis every 100 ms, not every
        // link's count through the front door (20 requests through the
        // edge, the balancers, an app server and a database, each time).
        // With removeOnComplete, an empty queue is every job done: then
        // the counts, once.
        while (performance.now() - startedAt < 300_000) {
          await new Promise((resolve) => setTimeout(resolve, 100))
          const left = await clicks.getJobCounts('waiting', 'active', 'delayed')
          if (Object.values(left).every((n) => n === 0)) break
        }
        drainedAt = performance.now()
        // The counts a client in the US reads come from its replica, a
        // moment behind the primary: read until they are all there, less
        // and less often.
        counted = await clicksOf(system.url, codes)
        for (let ms = 50; counted < BACKLOG && ms < 10_000; ms *= 2) {
          await new Promise((resolve) => setTimeout(resolve, ms))
          counted = await clicksOf(system.url, codes)
        }
      },
      idlePerMs,
    )
    const seconds = (drainedAt - startedAt) / 1000
    await clicks.close()
    return {
      backlog: BACKLOG,
      counted,
      'CPU ms / 1,000 events': perThousand(cpuMs, counted),
      'seconds (with the worker start)': Number(seconds.toFixed(1)),
      'events/s': Math.round(counted / seconds),
    }
  } finally {
    await close()
  }
}

// Step 9: a client in the US redirecting and creating, in step 8 (one
// database group) and step 9 (three shards); then the same workload of
// aliases and random codes over range sharding and over the ring.
async function measureLatency(step: Step) {
  const { system, close } = await startStep(step, { edgeRateLimit: false })
  try {
    const edge = system.url
    const codes = await createHotLinks(edge, 'latency')
    const { result: redirects, cpuMs } = await cpuOfLoad(pidsOf(system), () =>
      inTurn(
        edge,
        codes.map((code) => `/${code}`),
        REDIRECTS,
        10,
      ),
    )
    let made = 0
    const creates = await autocannon({
      url: `${edge}/api/links`,
      connections: 10,
      amount: CREATES,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({
            ...req,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              url: `https://example.com/${step.number}/${made++}`,
            }),
          }),
        },
      ],
    })
    return {
      step: step.id,
      'non-2xx/3xx': redirects.non2xx - redirects['3xx'] + creates.non2xx,
      'redirect CPU ms / 1,000': perThousand(cpuMs, REDIRECTS),
      'redirect p50 ms': redirects.latency.p50,
      'redirect p99 ms': redirects.latency.p99,
      'create req/s': Math.round(creates.requests.average),
      'create p50 ms': creates.latency.p50,
      'create p99 ms': creates.latency.p99,
    }
  } finally {
    await close()
  }
}

const CREATES = Number(process.env.CREATES ?? 500)
const SHARD_LINKS = Number(process.env.SHARD_LINKS ?? 600)
const SHARD_READS = Number(process.env.SHARD_READS ?? 3000)
const WORDS = [
  'summer',
  'sale',
  'promo',
  'blog',
  'post',
  'team',
  'meeting',
  'news',
  'launch',
  'docs',
  'sign',
  'free',
  'trial',
  'spring',
  'event',
  'shop',
  'deal',
  'jobs',
  'help',
  'music',
  'video',
  'photo',
  'travel',
  'menu',
]

async function measureShards(step: Step, scheme: 'range' | 'ring') {
  const { system, close } = await startStep(step, {
    edgeRateLimit: false,
    scheme,
  })
  try {
    // From Asia: near every primary, so the figures are the shards' own.
    const edge = system.nodes.find((node) => node.name === 'edge-asia')!.url
    const post = (body: object) =>
      json<{ code: string }>(`${edge}/api/links`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      })
    const codes: string[] = []
    for (let i = 0; i < SHARD_LINKS; i += 20) {
      const made = await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const n = i + j
          // Half aliases people choose, half random codes.
          return n % 2
            ? post({ url: `https://example.com/${n}` })
            : post({
                url: `https://example.com/${n}`,
                alias: `${WORDS[n % WORDS.length]}-${WORDS[(n * 7) % WORDS.length]}-${n}`,
              })
        }),
      )
      codes.push(...made.map((link) => link.code))
    }
    await inTurn(
      edge,
      codes.map((code) => `/api/links/${code}`),
      SHARD_READS,
      10,
    )
    const apps = system.nodes.filter((node) => node.role === 'app')
    const counters = await Promise.all(
      apps.map(
        async (app) => (await json<Metrics>(`${app.url}/metrics`)).counters,
      ),
    )
    const sum = (name: string) =>
      counters.reduce((total, c) => total + (c[name] ?? 0), 0)
    const { perShard } = await json<{ perShard: Record<string, number> }>(
      `${edge}/api/stats`,
    )
    return Object.entries(perShard).map(([shard, rows]) => ({
      scheme,
      shard,
      rows,
      reads: sum(`shard.${shard}.reads`),
      writes: sum(`shard.${shard}.writes`),
    }))
  } finally {
    await close()
  }
}

export interface Comparison {
  /** What is measured, said before it runs. */
  heading: string
  /** Which figures hold on any machine, where the step says so. */
  note?: string
  /** A few words for a chart's bar: what one request was. */
  workload?: string
  run(): Promise<object[]>
}

// Counts hold on a busy machine, and so does CPU time per request: the
// kernel charges a process for the time it ran, not for the time it waited
// for a core. Rates and latencies move with whatever else the machine runs.
const MOVES = /req\/s|events\/s|\bms\b|seconds/
const isRobust = (column: string) =>
  column.includes('/ 1,000') || !MOVES.test(column)

/** One line that says which of these rows' figures are robust. */
export function robustness(rows: object[]): string {
  // Labels (a step's name, a path) are not figures; a dash is a figure too
  // small to measure on this run, and its column still says what it is.
  const unique = [
    ...new Set(
      rows
        .flatMap((row) => Object.entries(row))
        .filter(([, value]) => typeof value === 'number' || value === NO_FIGURE)
        .map(([column]) => column),
    ),
  ]
  const robust = unique.filter(isRobust)
  const moving = unique.filter((column) => !isRobust(column))
  return [
    robust.length ? `Hold on a busy machine: ${robust.join(', ')}.` : '',
    moving.length ? `Move with the machine's load: ${moving.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ')
}

/** The comparisons of one step (from step 2 on) against the one before. */
export function comparisons(step: Step): Comparison[] {
  const before = findStep(String(step.number - 1))!
  const pair = (measureOne: (s: Step) => Promise<object>) => async () => [
    await measureOne(before),
    await measureOne(step),
  ]
  switch (step.number) {
    case 6:
      return [
        {
          heading: `${REDIRECTS} requests for a static asset, 10 connections, from the US: without and with the CDN`,
          note: 'Latency here is the injected WAN delay; origin requests per 1,000 hold on any machine.',
          workload: 'static asset',
          run: () => measureCdn(step),
        },
      ]
    case 7:
      return [
        {
          heading: `${REDIRECTS} details reads of ${HOT_LINKS} links, ${HOT_LINKS} creates and ${HOT_LINKS} redirects, by a client in the US: ${before.id} then ${step.id}`,
          note: 'Latency here is the injected WAN delay: 100 ms each way between the US and Asia.',
          workload: 'details read',
          run: pair(measureRegions),
        },
      ]
    case 8:
      return [
        {
          heading: `${QUEUED_REDIRECTS} redirects of ${HOT_LINKS} links by a client in the US, ${QUEUED_CONNECTIONS} connections: ${before.id} then ${step.id}`,
          note: 'Step 7 writes each click to the primary in Asia before it answers: 100 ms each way.',
          workload: 'redirect, click counted',
          run: pair(measureQueue),
        },
        {
          heading: `A backlog of ${BACKLOG} click events, drained by the click-analytics worker`,
          workload: 'click event drained',
          run: async () => [await measureDrain(step)],
        },
      ]
    case 9:
      return [
        {
          heading: `${REDIRECTS} redirects and ${CREATES} creates by a client in the US, 10 connections: ${before.id} then ${step.id}`,
          workload: 'redirect from the US',
          run: pair(measureLatency),
        },
        {
          heading: `${SHARD_LINKS} links (half aliases, half random codes), then ${SHARD_READS.toLocaleString('en')} details reads, over range sharding and over the ring`,
          note: 'Rows, reads and writes per shard hold on any machine.',
          run: async () => [
            ...(await measureShards(step, 'range')),
            ...(await measureShards(step, 'ring')),
          ],
        },
      ]
    default:
      return [
        {
          heading: `${REDIRECTS} redirects over ${HOT_LINKS} links, 10 connections, against ${before.id} then ${step.id}`,
          workload: 'redirect',
          run: pair(measure),
        },
      ]
  }
}
