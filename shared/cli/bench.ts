// npm run bench [-- --quick]: every step's comparison with the step before
// it (what `npm run load -- stepNN` prints), one after the other, then each
// step's start-up time and memory (shared/bench/footprint.ts), the anchors
// (shared/bench/anchors.ts) and the dashboard's cost, written to
// bench/results.md with the machine they ran on, and drawn as SVG charts
// beside it for the README.
// --quick shrinks every load to a few hundred requests and writes *-quick.*
// files (git-ignored): a check that each measurement still runs, not
// figures to quote.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, relative } from 'node:path'
import { barChart, type Bar } from '../bench/charts'
import type { Comparison } from '../load'
import { ROOT, listSteps } from '../steps'

const QUICK = {
  REDIRECTS: '200',
  CREATES: '40',
  BACKLOG: '2000',
  SHARD_LINKS: '100',
  SHARD_READS: '300',
  ANCHOR_SECONDS: '1',
  PAIRED_ROUNDS: '2',
}

type Row = Record<string, unknown>

interface Measured {
  /** A step's id, or 'Anchors'. */
  section: string
  comparison: Comparison
  rows: Row[]
}

function table(rows: object[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  const cell = (value: unknown) => String(value ?? '').replace(/\|/g, '\\|')
  return [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${columns.map((c) => cell((row as Record<string, unknown>)[c])).join(' | ')} |`,
    ),
  ].join('\n')
}

// One bar per step (or anchor), the first time it was measured: a step is
// measured twice (against the step before, and by the next step), and its
// own comparison comes first.
function bars(
  measured: Measured[],
  value: (row: Row) => unknown,
  label: (row: Row, m: Measured) => string,
): Bar[] {
  const seen = new Map<string, Bar>()
  for (const m of measured)
    for (const row of m.rows) {
      const figure = value(row)
      const name = label(row, m)
      if (seen.has(name)) continue
      if (typeof figure === 'number')
        seen.set(name, { label: name, value: figure })
      else if (typeof figure === 'string')
        seen.set(name, { label: name, value: undefined, note: figure })
    }
  return [...seen.values()]
}

const cpuOf = (row: Row) =>
  Object.entries(row).find(([column]) => column.includes('CPU ms / 1,000'))?.[1]
const stepLabel = (row: Row, m: Measured) => {
  const step = String(row.step ?? m.section).slice(0, 6)
  return `${step} · ${row.path ?? m.comparison.workload ?? ''}`
}
const anchorLabel = (row: Row) =>
  `${row.anchor} · ${row.path === '/healthz' ? '/healthz' : 'redirect'}`

function charts(measured: Measured[]) {
  const steps = measured.filter((m) => m.section.startsWith('step'))
  const anchors = measured.filter((m) => m.section === 'Anchors')
  return {
    'db-reads': barChart({
      title: 'Database reads per 1,000 redirects',
      unit: 'reads that reached a database node (steps 1-5); fewer is better',
      bars: bars(
        steps,
        (row) => row['DB reads / 1,000'],
        (row) => String(row.step),
      ),
    }),
    'cpu-per-step': barChart({
      title: 'CPU per request, every node of the step',
      unit: 'CPU ms per 1,000 requests, from /proc; holds on a busy machine',
      bars: bars(steps, cpuOf, stepLabel),
    }),
    'anchors-req-s': barChart({
      title: 'Anchors: requests per second',
      unit: 'req/s, 50 connections; moves with the machine’s load',
      bars: bars(
        anchors,
        (row) => row['req/s'] ?? row['wrong status'],
        anchorLabel,
      ),
    }),
    'anchors-cpu': barChart({
      title: 'Anchors: CPU per request of the server or proxy',
      unit: 'CPU ms per 1,000 requests, from /proc; holds on a busy machine',
      bars: bars(
        anchors,
        (row) => row['CPU ms / 1,000'] ?? row['wrong status'],
        anchorLabel,
      ),
    }),
  }
}

async function main() {
  const quick = process.argv.includes('--quick')
  if (quick) Object.assign(process.env, QUICK)
  // After the sizes are set: the measurements read them when they load.
  const { comparisons, robustness } = await import('../load')
  const { anchors, balancerCost, balancerRatios, nginxVersion } =
    await import('../bench/anchors')
  const { dashboardCost } = await import('../bench/dashboard-cost')
  const { footprint } = await import('../bench/footprint')
  const steps = listSteps().filter((step) => step.number >= 2)
  const plan = [
    ...steps.flatMap((step) =>
      comparisons(step).map((comparison) => ({ section: step.id, comparison })),
    ),
    ...footprint().map((comparison) => ({
      section: 'Start-up and memory',
      comparison,
    })),
    ...anchors().map((comparison) => ({ section: 'Anchors', comparison })),
    ...balancerCost().map((comparison) => ({
      section: 'Balancer against the minimal proxy',
      comparison,
    })),
    ...dashboardCost().map((comparison) => ({
      section: 'Dashboard',
      comparison,
    })),
  ]
  const load = loadavg()[0]!.toFixed(1)
  const started = Date.now()
  const measured: Measured[] = []
  for (const [i, { section, comparison }] of plan.entries()) {
    console.log(
      `[${i + 1}/${plan.length}] ${section}: ${comparison.heading}...`,
    )
    const rows = (await comparison.run()) as Row[]
    console.table(rows)
    console.log(robustness(rows))
    measured.push({ section, comparison, rows })
  }
  const pairedRows = measured
    .filter((m) => m.section === 'Balancer against the minimal proxy')
    .flatMap((m) => m.rows)
  const ratios = `Our balancer's CPU per request over the minimal proxy's, under the same load at the same time: ${balancerRatios(pairedRows)} (the target: at most 1.2x).`
  console.log(ratios)

  const sections = measured.map(({ section, comparison, rows }, i) =>
    [
      measured[i - 1]?.section === section ? '' : `## ${section}\n`,
      `${comparison.heading}.${comparison.note ? ` ${comparison.note}` : ''}`,
      '',
      table(rows),
      '',
      robustness(rows),
    ].join('\n'),
  )
  const cpu = cpus()
  const nginx = nginxVersion()
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  const suffix = quick ? '-quick' : ''
  const chartFiles = Object.keys(charts(measured)).map(
    (name) => `${name}${suffix}.svg`,
  )
  const text = [
    `# Bench results${quick ? ' (quick: a check that every measurement runs, not figures to quote)' : ''}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${nginx ? `NGINX ${nginx}` : 'no NGINX on PATH'}, load average ${load} at the start, in ${minutes} minutes, by \`npm run bench${quick ? ' -- --quick' : ''}\`.`,
    'Each step runs as real processes on this one machine, beside the load generator. Figures that hold on a busy machine come first in each table: counts (database reads, origin requests, rows per shard) and CPU milliseconds per 1,000 requests, read from each process’s own counters in /proc and summed over every node. Requests per second and latency, after them, move with whatever else the machine is doing.',
    '',
    ...chartFiles.map((file) => `![${file}](${file})`),
    '',
    ...sections.flatMap((section) => [section, '']),
    ratios,
    '',
  ].join('\n')
  const dir = process.env.BENCH_DIR ?? join(ROOT, 'bench')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `results${suffix}.md`)
  writeFileSync(file, text)
  for (const [name, svg] of Object.entries(charts(measured)))
    writeFileSync(join(dir, `${name}${suffix}.svg`), svg)
  console.log(
    `Wrote ${relative(process.cwd(), file)} and ${chartFiles.length} charts in ${minutes} minutes`,
  )
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
