// What a step weighs on a learner's laptop: `npm start -- stepNN` as a
// learner runs it, timed until its front door answers a redirect, then the
// memory of its node processes once they are idle. RSS counts the pages of
// the node binary itself (about 40 MB, shared by every node process), so
// the sum overstates what the step takes from the machine.
import { readFileSync } from 'node:fs'
import type { Comparison } from '../load'
import { listSteps, shortName } from '../steps'
import { createLink } from '../testing/http'
import { npmStart } from '../testing/npm-start'
import { delay, waitFor } from '../wait-for'

// How long the nodes idle before their memory is read.
const SETTLE_MS = 2000

function rssMb(pid: number): number | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    if (!cmdline.startsWith(process.execPath)) return undefined // redis-server
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024
  } catch {
    return undefined // gone
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2
}

// Throws until the front door creates a link and redirects to it
// (waitFor asks again).
async function redirects(frontDoor: string): Promise<boolean> {
  const { code } = await createLink(frontDoor)
  const answer = await fetch(`${frontDoor}/${code}`, { redirect: 'manual' })
  return answer.status === 302
}

async function measure(): Promise<object[]> {
  const rows: object[] = []
  for (const step of listSteps()) {
    const startedAt = performance.now()
    const started = await npmStart(shortName(step))
    try {
      await waitFor(
        `${step.id}'s front door to answer a redirect`,
        () => redirects(started.topology.frontDoor),
        { timeoutMs: 60_000, intervalMs: 20 },
      )
      const readyMs = Math.round(performance.now() - startedAt)
      await delay(SETTLE_MS)
      const rss = started.topology.nodes
        .map((node) => rssMb(node.pid))
        .filter((mb): mb is number => mb !== undefined)
      rows.push({
        step: step.id,
        'node processes': rss.length,
        'median RSS MB': Math.round(median(rss)),
        'total RSS MB': Math.round(rss.reduce((sum, mb) => sum + mb, 0)),
        'ready ms': readyMs,
      })
    } finally {
      await started.stop('ctrl-c')
    }
  }
  return rows
}

export function footprint(): Comparison[] {
  return [
    {
      heading:
        '`npm start -- stepNN` as a learner runs it, every step: the time until its front door answers a redirect, then the memory of its node processes after 2 s idle',
      note: 'Node processes only (not redis-server); RSS includes the node binary’s pages, about 40 MB shared by them all. Targets: step 5 ready in at most 3 s, the largest step in at most 10 s, a median RSS of at most 75 MB.',
      run: measure,
    },
  ]
}
