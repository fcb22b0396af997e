// What the dashboard costs the system it watches: the same redirects at
// step 5's front door (npm start, as a learner runs it) with no page open
// and with the dashboard open in a headless Chromium. The dashboard lives in
// the launcher (the `npm start` process that owns the nodes and serves the
// page), so its CPU counts with every node's. A fixed rate of requests, so
// that the step's own per-second work (health checks, monitors) weighs the
// same on both sides, whatever the machine does; round after round, the two
// in turn and the order swapped every round, so that a drift of the machine
// falls on both sides alike. The verdict compares each round's pair.
//
// Part of `npm run bench`; alone:
//   node --import tsx shared/bench/dashboard-cost.ts
// DASHBOARD_ROUNDS (or PAIRED_ROUNDS) sets the rounds, ANCHOR_SECONDS each
// load's length, DASHBOARD_RATE its requests per second.
import autocannon from 'autocannon'
import { existsSync, readFileSync } from 'node:fs'
import type { Comparison } from '../load'
import { CHROMIUM, launchBrowser } from '../testing/browser'
import { createLink } from '../testing/http'
import { npmStart } from '../testing/npm-start'
import { childrenOf, cpuMsOf, parentOf, perThousand } from './cpu'
import { median } from './footprint'

const SECONDS = Number(process.env.ANCHOR_SECONDS ?? 5)
// Nine: the median's interval then leaves out the two best and the two
// worst rounds (82% confidence); seven leave out one of each (88%).
const ROUNDS = Number(
  process.env.DASHBOARD_ROUNDS ?? process.env.PAIRED_ROUNDS ?? 9,
)
// Well under what step 5 answers on a busy 2-core machine (300-600/s at
// full speed): every request is sent, open or closed. The dashboard's cost
// is per second, not per request, so a modest rate is the harsher test.
const RATE = Number(process.env.DASHBOARD_RATE ?? 200)
/** The budget: with a page open, the step's processes and the launcher
 * together spend at most 5% more CPU per request than with none. */
export const BUDGET = 1.05

type Row = Record<string, string | number>

/** The Chromium this process started (playwright's child), for its CPU. */
function browserPid(): number | undefined {
  return childrenOf(process.pid).find((pid) => {
    try {
      return /chrom/i.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))
    } catch {
      return false // gone
    }
  })
}

const choose = (n: number, k: number): number =>
  k === 0 ? 1 : (choose(n, k - 1) * (n - k + 1)) / k

/** Where the median of n paired rounds lies, from the rounds alone (no
 * assumption on their spread): between the k-th smallest and the k-th
 * largest, with the confidence returned, at least 80% where n allows. */
export function medianInterval(n: number): { k: number; confidence: number } {
  const below = (k: number) => {
    let p = 0
    for (let i = 0; i < k; i++) p += choose(n, i) / 2 ** n
    return p
  }
  let k = 1
  while (k + 1 <= n / 2 && 1 - 2 * below(k + 1) >= 0.8) k++
  return { k, confidence: 1 - 2 * below(k) }
}

/** The verdict on the rounds' pairs, in plain words. */
export function verdict(rows: Row[]): string {
  const rounds = [...new Set(rows.map((row) => row.round))]
  const pairs = rounds.flatMap((round) => {
    const of = (state: string) =>
      rows.find((row) => row.round === round && row.dashboard === state)
    const open = of('open')
    const closed = of('closed')
    const cpu = (row: Row | undefined) => row?.['CPU ms / 1,000']
    if (typeof cpu(open) !== 'number' || typeof cpu(closed) !== 'number')
      return []
    return [
      {
        ratio: (cpu(open) as number) / (cpu(closed) as number),
        launcher:
          Number(open!['launcher CPU ms / s']) -
          Number(closed!['launcher CPU ms / s']),
      },
    ]
  })
  if (pairs.length === 0) return 'Verdict: not measured.'
  const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b)
  const { k, confidence } = medianInterval(ratios.length)
  const low = ratios[k - 1]!
  const high = ratios[ratios.length - k]!
  const x = (n: number) => `${n.toFixed(2)}x`
  const outcome =
    high <= BUDGET
      ? 'within budget'
      : low > BUDGET
        ? 'OVER BUDGET'
        : "can't tell on this machine now: its noise is larger than the budget (run it again when the machine is quieter, or with more rounds)"
  const medianOf = (values: number[]) =>
    median(values.filter((v) => !Number.isNaN(v)))
  const launcher = medianOf(pairs.map((p) => p.launcher))
  const column = (state: string, name: string) =>
    medianOf(
      rows
        .filter((row) => row.dashboard === state)
        .map((row) => Number(row[name])),
    )
  const browser = column('open', 'browser CPU ms / s')
  return [
    `Verdict: ${outcome}.`,
    `With the dashboard open, the step's processes and the launcher spent ${x(median(ratios))} the CPU per request they spent with it closed:`,
    `the median of ${ratios.length} paired round${ratios.length === 1 ? '' : 's'}, between ${x(low)} and ${x(high)} with ${Math.round(confidence * 100)}% confidence (all rounds: ${x(ratios[0]!)} to ${x(ratios.at(-1)!)}).`,
    `The budget: at most ${x(BUDGET)}.`,
    `The launcher alone (the scrapes, the events): ${Math.round(launcher)} ms of CPU a second more with a page open (median).`,
    Number.isNaN(browser)
      ? ''
      : `Not counted: the browser drawing the page, ${Math.round(browser)} ms of CPU a second (median), on the same cores.`,
    Number.isNaN(column('open', 'p99 ms'))
      ? ''
      : `p99 at the front door: ${column('closed', 'p99 ms')} ms closed, ${column('open', 'p99 ms')} ms open (medians; moves with the machine).`,
  ]
    .filter(Boolean)
    .join(' ')
}

async function measure(): Promise<Row[]> {
  if (!existsSync(CHROMIUM))
    return [{ dashboard: `no Chromium at ${CHROMIUM}: not measured` }]
  const started = await npmStart('step05')
  const browser = await launchBrowser()
  try {
    const link = await createLink(started.topology.frontDoor)
    const url = `${started.topology.frontDoor}/${link.code}`
    const nodes = started.topology.nodes.map((n) => n.pid).filter((p) => p > 0)
    // The launcher started every node: it is their parent.
    const launcher = parentOf(nodes[0]!)
    if (!launcher || !nodes.every((pid) => parentOf(pid) === launcher))
      throw new Error('Could not find the launcher: the nodes have no parent')
    // Every process of the launcher's tree: it, the nodes, their children.
    // The browser's (every process of it), apart: not the system's cost,
    // but it runs on the same cores, and redraws the page every second.
    const chromium = browserPid()
    const cpu = () => ({
      all: cpuMsOf([launcher]),
      nodes: cpuMsOf(nodes),
      browser: chromium ? cpuMsOf([chromium]) : NaN,
    })
    const load = () =>
      autocannon({
        url,
        connections: 10,
        duration: SECONDS,
        overallRate: RATE,
      })
    await load() // warm up
    const rows: Row[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? [false, true] : [true, false]
      for (const open of order) {
        const page = open ? await browser.newPage() : undefined
        if (page) {
          await page.goto(started.topology.dashboard!)
          await page.locator('#connection', { hasText: 'live' }).waitFor()
          await page.locator('.node').first().waitFor() // its first frame
        }
        const before = cpu()
        const result = await load()
        const after = cpu()
        await page?.close()
        const all = after.all - before.all
        const launcherMs = all - (after.nodes - before.nodes)
        rows.push({
          round: String(round), // a label, not a figure
          dashboard: open ? 'open' : 'closed',
          'non-3xx': result.requests.total - result['3xx'],
          'CPU ms / 1,000': perThousand(all, result.requests.total),
          'launcher CPU ms / s': Math.round(launcherMs / SECONDS),
          // With no page, nothing to draw (and a page closed just before
          // takes its renderer's CPU time with it as it exits).
          'browser CPU ms / s':
            !open || Number.isNaN(after.browser)
              ? '–'
              : Math.round((after.browser - before.browser) / SECONDS),
          'req/s': Math.round(result.requests.total / SECONDS),
          'p50 ms': result.latency.p50,
          'p99 ms': result.latency.p99,
        })
      }
    }
    return rows
  } finally {
    await browser.close()
    await started.stop('ctrl-c')
  }
}

export function dashboardCost(): Comparison[] {
  const comparison: Comparison = {
    heading: `${SECONDS} s of redirects at step 5's front door, ${RATE} requests/s over 10 connections, with the dashboard closed and open, ${ROUNDS} rounds (the order swapped every round)`,
    note: `CPU ms per 1,000 requests over every node of the step and the launcher that serves the dashboard (its own CPU apart, per second); the browser's CPU is not counted in it, but shown apart: it shares the machine. The budget: open at most ${BUDGET.toFixed(2)}x closed.`,
    workload: 'redirect',
    run: async () => {
      const rows = await measure()
      const said = verdict(rows)
      console.log(said)
      // bench/results.md takes the note after the run: the verdict with it.
      comparison.note = `${comparison.note} ${said}`
      return rows
    },
  }
  return [comparison]
}

if (require.main === module) {
  const [comparison] = dashboardCost()
  console.log(`${comparison!.heading}...`)
  comparison!.run().then(
    (rows) => {
      console.table(rows)
      process.exit(0)
    },
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
