// npm start                  lists the steps
// npm start -- step04        runs step 4's whole topology as real processes
// PORT sets the front door (default 3000); every other node has a fixed
// offset from it (see the step's system.ts), and the table printed at start
// shows them all. DATA_DIR moves the data files (default data/<step>/).
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { asProcesses, type RunningNode } from '../launcher'
import { ROOT, findStep, listSteps, type Step } from '../steps'

interface StartedSystem {
  url: string
  nodes: RunningNode[]
  close(): Promise<void>
}
type StartSystem = (
  options: { dataDir: string; port: number },
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
    console.log(`  step${String(step.number).padStart(2, '0')}  ${title(step)}`)
  }
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
  const dataDir = process.env.DATA_DIR ?? join(ROOT, 'data', step.id)
  const runFile = join(
    process.env.RUN_DIR ?? join(ROOT, '.run'),
    `${step.id.slice(0, 6)}.json`,
  )

  const { startSystem } = (await import(
    join(step.dir, 'src', 'system.ts')
  )) as {
    startSystem: StartSystem
  }
  const launch = asProcesses(join(step.dir, 'src', 'main.ts'), {
    log: (line) => console.log(line),
  })
  console.log(`Starting ${title(step)}...`)
  const system = await startSystem({ dataDir, port }, launch)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: stopping ${system.nodes.length} processes...`)
    await system.close()
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

  const nodes = system.nodes.map((node) => ({
    name: node.name,
    role: node.role,
    url: node.url,
    pid: node.pid,
    frontDoor: node.url === system.url,
  }))
  mkdirSync(join(runFile, '..'), { recursive: true })
  writeFileSync(
    runFile,
    JSON.stringify({ step: step.id, frontDoor: system.url, nodes }, null, 2) +
      '\n',
  )

  console.log('')
  console.table(
    nodes.map(({ name, role, url, pid }) => ({ name, role, url, pid })),
  )
  console.log(`\nFront door: ${system.url}`)
  console.log(`Data:       ${relative(process.cwd(), dataDir) || '.'}`)
  console.log(`Topology:   ${relative(process.cwd(), runFile)}`)
  console.log('Press Ctrl-C to stop every process.\n')
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
