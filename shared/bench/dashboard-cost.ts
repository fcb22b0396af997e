// What the dashboard costs the system it watches: the same redirects at
// step 5's front door (npm start, as a learner runs it) with no page open
// and with the dashboard open in a headless Chromium, alternating, so that
// a drift of the machine falls on both sides alike.
import autocannon from 'autocannon'
import { existsSync } from 'node:fs'
import type { Comparison } from '../load'
import { CHROMIUM, launchBrowser } from '../testing/browser'
import { createLink } from '../testing/http'
import { npmStart } from '../testing/npm-start'
import { cpuDuring, perThousand } from './cpu'

const SECONDS = Number(process.env.ANCHOR_SECONDS ?? 5)
const ROUNDS = 2

async function measure(): Promise<object[]> {
  if (!existsSync(CHROMIUM))
    return [{ dashboard: `no Chromium at ${CHROMIUM}: not measured` }]
  const started = await npmStart('step05')
  const browser = await launchBrowser()
  try {
    const link = await createLink(started.topology.frontDoor)
    const url = `${started.topology.frontDoor}/${link.code}`
    const pids = started.topology.nodes.map((n) => n.pid).filter((p) => p > 0)
    await autocannon({ url, connections: 10, duration: SECONDS }) // warm up
    const rows: object[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const open of [false, true]) {
        const page = open ? await browser.newPage() : undefined
        if (page) {
          await page.goto(started.topology.dashboard!)
          await page.locator('#connection', { hasText: 'live' }).waitFor()
        }
        const { result, cpuMs } = await cpuDuring(pids, () =>
          autocannon({ url, connections: 10, duration: SECONDS }),
        )
        await page?.close()
        rows.push({
          dashboard: open ? 'open' : 'closed',
          'non-3xx': result.requests.total - result['3xx'],
          'CPU ms / 1,000': perThousand(cpuMs, result.requests.total),
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
  return [
    {
      heading: `${SECONDS} s of redirects at step 5's front door, 10 connections, with the dashboard closed and open (${ROUNDS} rounds each)`,
      note: "CPU ms per 1,000 requests over every node of the step; the browser's own CPU is not counted, but it shares the machine.",
      workload: 'redirect',
      run: measure,
    },
  ]
}
