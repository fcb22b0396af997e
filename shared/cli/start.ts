// npm start                  lists the steps
// npm start -- step04        runs step 4's whole topology as real processes
// PORT sets the front door (default 3000); every other node has a fixed
// offset from it (see the step's system.ts), and the table printed at start
// shows them all. DATA_DIR moves the data files (default data/<step>/).
// PUBLIC_URL is where short URLs point (default: the front door).
//
// package.json runs this file with `node --require tsx/cjs`: tsx's CommonJS
// hooks alone start in a third of the time of `--import tsx`, which also
// starts a thread for ES module hooks. So the step's system.ts is loaded
// with require(), not import(), which would need those hooks.
import {
  mkdirSync,
  readFileSync,
  existsSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { startControl, type SystemAction } from '../control'
import { startDashboard, type Dashboard } from '../dashboard/server'
import { asProcesses, type RunningNode } from '../launcher'
import { ROOT, findStep, listSteps, shortName, type Step } from '../steps'
import {
  describeNodes,
  requestPath,
  topologyFile,
  type Topology,
} from '../topology'

interface StartedSystem {
  url: string
  nodes: RunningNode[]
  adminToken?: string
  purgeToken?: string
  /** What the step lets commands do to it, e.g. reshard-add in step 9. */
  actions?: Record<string, SystemAction>
  close(): Promise<void>
}
type StartSystem = (
  options: { dataDir: string; port: number; publicUrl?: string },
  launch: ReturnType<typeof asProcesses>,
) => Promise<StartedSystem>

function title(step: Step): string {
  const readme = join(step.dir, 'README.md')
  if (!existsSync(readme)) return step.id
  return /^#\s+(.*)$/m.exec(readFileSync(readme, 'utf8'))?.[1] ?? step.id
}

function printSteps(): void {
  console.log('Run one step with: npm start -- stepNN\n')
  for (const step of listSteps()) {
    console.log(`  ${shortName(step)}  ${title(step)}`)
  }
}

// Plain columns, no borders: readable on a projector, and the same shape
// whatever the ports and process ids are.
function printTable(rows: Record<string, string | number>[]): void {
  const columns = Object.keys(rows[0] ?? {})
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => String(row[column]).length)),
  )
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  console.log(line(columns))
  for (const row of rows) console.log(line(columns.map((c) => String(row[c]))))
}

async function main(): Promise<void> {
  const arg = process.argv[2]
  if (!arg) return printSteps()
  const step = findStep(arg)
  if (!step) {
    console.error(`There is no step "${arg}" yet.\n`)
    printSteps()
    process.exit(2)
  }
  const port = Number(process.env.PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, not "${process.env.PORT}".`)
    process.exit(2)
  }
  const asked = process.env.DASHBOARD_PORT
  if (asked && !(/^\d+$/.test(asked) && Number(asked) <= 65535)) {
    console.error(`DASHBOARD_PORT must be a port number, not "${asked}".`)
    process.exit(2)
  }
  const dataDir = process.env.DATA_DIR ?? join(ROOT, 'data', step.id)
  const runFile = topologyFile(shortName(step))

  const { startSystem } = createRequire(__filename)(
    join(step.dir, 'src', 'system.ts'),
  ) as {
    startSystem: StartSystem
  }
  const launch = asProcesses(join(step.dir, 'src', 'main.ts'), {
    log: (line) => console.log(line),
  })
  console.log(`Starting ${title(step)}...`)
  const publicUrl = process.env.PUBLIC_URL || undefined
  const system = await startSystem({ dataDir, port, publicUrl }, launch)

  // The topology file follows the nodes: a kill, a restart, a crash.
  const control = await startControl(
    system.nodes,
    () => writeTopology(),
    system.actions,
  )
  let written = ''
  let current: Topology
  // The dashboard: the same nodes, drawn, on loopback at DASHBOARD_PORT
  // (default PORT + 999, or any free port when that one is taken).
  const dashboardOptions = {
    nodes: system.nodes,
    topology: () => current,
    changed: () => writeTopology(),
  }
  const preferred = asked ? Number(asked) : port && port + 999
  const dashboard: Dashboard = await startDashboard({
    ...dashboardOptions,
    port: preferred <= 65535 ? preferred : 0,
  }).catch((error: NodeJS.ErrnoException) => {
    if (asked || error.code !== 'EADDRINUSE') throw error
    return startDashboard({ ...dashboardOptions, port: 0 })
  })
  function writeTopology() {
    const nodes = describeNodes(system.nodes, system.url)
    const topology: Topology = {
      step: step!.id,
      frontDoor: system.url,
      dataDir,
      control: { url: control.url, token: control.token },
      adminToken: system.adminToken,
      purgeToken: system.purgeToken,
      nodes,
      links: requestPath(nodes),
      dashboard: dashboard.url,
    }
    current = topology
    const text = JSON.stringify(topology, null, 2) + '\n'
    if (text === written) return
    mkdirSync(join(runFile, '..'), { recursive: true })
    // Only this user may read the control token.
    writeFileSync(runFile, text, { mode: 0o600 })
    written = text
  }
  writeTopology()
  const watch = setInterval(writeTopology, 500)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    clearInterval(watch)
    const running = system.nodes.filter((node) => node.alive).length
    console.log(`\n${signal}: stopping ${running} processes...`)
    await dashboard.close()
    await system.close()
    await control.close()
    rmSync(runFile, { force: true })
    console.log('Stopped.')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop('SIGINT'))
  process.on('SIGTERM', () => void stop('SIGTERM'))
  // `kill <npm's pid>` ends npm and its shell but not us: when our parent is
  // gone we are an orphan, and stop as if the signal had reached us.
  const parent = process.ppid
  setInterval(() => process.ppid !== parent && void stop('parent exited'), 500)

  console.log('')
  printTable(
    system.nodes.map(({ name, role, url, pid }) => ({ name, role, url, pid })),
  )
  console.log(`\nFront door: ${system.url}`)
  console.log(`Dashboard:  ${dashboard.url}`)
  console.log(`Data:       ${relative(process.cwd(), dataDir) || '.'}`)
  console.log(`Topology:   ${relative(process.cwd(), runFile)}`)
  console.log('Press Ctrl-C to stop every process.\n')
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error)
  // The node's own lines, the stack among them, are on screen already.
  const taken = /EADDRINUSE: address already in use (\S+)/.exec(message)
  console.error(
    taken
      ? `\nAnother program listens on ${taken[1]}, a port this step needs (a step uses PORT and up to 100 ports above it): ` +
          `start it on other ports, e.g. PORT=5000 npm start -- ${process.argv[2]}`
      : message,
  )
  process.exit(1)
})
