// npm run check:lessons [-- step04] [--file path]: runs every command of
// the lessons (```console blocks) and compares what it prints with what the
// lesson promises. A step's lesson runs against its live topology, started
// as a learner starts it, on free ports: the lesson speaks of port 3000 and
// up, and the checker translates. Exercise READMEs, README.md and
// WORKSHOP.md run without a topology.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, relative } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { mismatch, parseLesson, type LessonBlock } from '../lessons'
import { freePort } from '../net'
import { ROOT, findStep, listSteps, shortName, type Step } from '../steps'
import { tempDir } from '../testing/temp'
import { GiveUp, waitFor } from '../wait-for'

const LESSON_PORT = 3000
const COMMAND_TIMEOUT_MS = 120_000

interface Context {
  step?: Step
  /** The real port that the lesson's 3000 stands for. */
  base: number
  /** The real port of the dashboard, which the lesson shows as 3999. */
  dashboard: number
  runDir: string
  dataDir: string
}

// Ports 3000-3099 of this machine, in any spelling of its loopback address,
// become the checker's in a command, and back again in output.
const LOOPBACK =
  '(?:localhost\\.?|[\\w.-]+\\.localhost\\.?|127(?:\\.\\d+){1,3}|\\[::1\\]|0\\.0\\.0\\.0)'
const toReal = (text: string, context: Context) =>
  text.replace(
    new RegExp(`\\b(${LOOPBACK}):(30\\d\\d)\\b`, 'gi'),
    (_, host, port) => `${host}:${context.base + Number(port) - LESSON_PORT}`,
  )
function toLesson(text: string, context: Context): string {
  const port = (p: string) => {
    if (Number(p) === context.dashboard) return String(LESSON_PORT + 999)
    const offset = Number(p) - context.base
    return offset >= 0 && offset < 100 ? String(LESSON_PORT + offset) : p
  }
  const lessonData = `data/${context.step?.id ?? ''}`
  const out = text
    .replace(/\r/g, '')
    .replace(
      new RegExp(`\\b(${LOOPBACK})(:| port )(\\d+)\\b`, 'gi'),
      (_, host, sep, p) => `${host}${sep}${port(p)}`,
    )
    // npm start names its folders as paths from where it runs.
    // (relative first: the absolute path is a part of the relative one)
    .split(relative(ROOT, context.dataDir))
    .join(lessonData)
    .split(context.dataDir)
    .join(lessonData)
    .split(relative(ROOT, context.runDir))
    .join('.run')
    .split(context.runDir)
    .join('.run')
  // Colours are for terminals, not for comparing.
  return stripVTControlCharacters(out)
}

// One shell per lesson, so that variables set by one command serve the next.
class Shell {
  private child: ChildProcess
  private output = ''
  private count = 0
  constructor(env: NodeJS.ProcessEnv) {
    // Its own process group: whatever a lesson starts in the background
    // (a second npm start, a stream of requests) goes when the shell goes.
    this.child = spawn('bash', ['--noprofile', '--norc'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      detached: true,
    })
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk))
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk))
  }
  async run(command: string): Promise<string> {
    const marker = `__lesson_done_${++this.count}__`
    this.output = ''
    this.child.stdin!.write(
      `{\n${command}\n} </dev/null 2>&1\necho ${marker}\n`,
    )
    await waitFor(
      `the command to finish: ${command}`,
      () => this.output.includes(marker),
      { timeoutMs: COMMAND_TIMEOUT_MS, intervalMs: 10 },
    )
    return this.output.slice(0, this.output.indexOf(marker))
  }
  // SIGTERM first, so that an npm start among them stops its own nodes;
  // SIGKILL for whatever is left of the group after a while.
  async close() {
    const group = -this.child.pid!
    const signal = (name: NodeJS.Signals | 0) => {
      try {
        process.kill(group, name)
        return true
      } catch {
        return false // nobody is left in the group
      }
    }
    signal('SIGTERM')
    await waitFor('the lesson shell and its jobs to stop', () => !signal(0), {
      timeoutMs: 10_000,
    }).catch(() => signal('SIGKILL'))
  }
}

// The step's topology, started with `npm start` as a learner starts it.
class Topology {
  private child?: ChildProcess
  output = ''
  constructor(private context: Context) {}
  /** The step that runs now: the lesson's own, or one a block asked for. */
  running?: Step
  async start(env: Record<string, string>, step = this.context.step!) {
    await this.stop()
    this.output = ''
    this.running = step
    this.child = spawn('npm', ['start', '--', shortName(step)], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...env,
        PORT: String(this.context.base),
        DASHBOARD_PORT: String(this.context.dashboard),
        RUN_DIR: this.context.runDir,
        DATA_DIR: this.context.dataDir,
      },
    })
    const child = this.child
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk))
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk))
    await waitFor(
      `npm start -- ${shortName(step)} to be ready`,
      () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new GiveUp(`npm start exited:\n${this.output}`)
        return this.output.includes('Press Ctrl-C')
      },
      { timeoutMs: 60_000 },
    )
    // Its start-up output, up to the line that says it is ready.
    const end = this.output.indexOf('\n', this.output.indexOf('Press Ctrl-C'))
    return this.output.slice(0, end)
  }
  async stop() {
    const child = this.child
    const exited = () => child!.exitCode !== null || child!.signalCode !== null
    if (!child || exited()) return
    process.kill(-child.pid!, 'SIGINT') // Ctrl-C, to the whole process group
    await waitFor('npm start to stop', exited, { timeoutMs: 30_000 })
  }
}

// A hundred ports in a row that nobody holds: the lesson's 3000-3099.
async function freeBase(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the ports handed out for outgoing connections (from 32768).
    const base = 20_000 + 100 * Math.floor(Math.random() * 120)
    const ports = Array.from({ length: 100 }, (_, i) => base + i)
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base
  }
  throw new Error('No hundred free ports in a row between 20000 and 32000')
}

interface Problem {
  where: string
  command: string
  expected: string[]
  actual: string
}

async function checkFile(file: string, step?: Step): Promise<Problem[]> {
  const blocks = parseLesson(readFileSync(file, 'utf8'))
  const dirs = tempDir()
  const context: Context = {
    step,
    base: await freeBase(),
    dashboard: await freePort(),
    runDir: join(dirs.path, 'run'),
    dataDir: join(dirs.path, 'data'),
  }
  const shell = new Shell({
    ...process.env,
    RUN_DIR: context.runDir,
    DATA_DIR: context.dataDir,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
  })
  const topology = new Topology(context)
  const problems: Problem[] = []
  // The settings of the lesson's own step, kept while a block runs another.
  let ownEnv: Record<string, string> = {}
  let checked = 0
  try {
    for (const block of blocks) {
      const where = `${relative(ROOT, file)}:${block.line}`
      const start = startOf(block, where)
      if (start?.step && !step)
        throw new Error(
          `${where}: "check: start ${shortName(start.step)}" needs a lesson that runs a step`,
        )
      // A block that runs another step is the only one to run it: the
      // next block gets the lesson's own step back.
      const wanted = start?.step ?? step
      if (start && !start.step) ownEnv = start.env
      if (step && (start || topology.running !== wanted)) {
        const startOutput = await topology.start(
          start?.step ? start.env : ownEnv,
          wanted,
        )
        if (isStart(block)) {
          const [first, ...rest] = block.commands
          compare(first!.expected, startOutput, first!)
          await runAll(rest)
          continue
        }
      }
      await runAll(block.commands)
    }
  } finally {
    await shell.close()
    await topology.stop()
    dirs.remove()
  }
  console.log(
    `${relative(ROOT, file)}: ${checked} outputs compared, ${problems.length} differ`,
  )
  return problems

  async function runAll(commands: LessonBlock['commands']) {
    for (const command of commands) {
      const output = await shell.run(toReal(command.command, context))
      compare(command.expected, output, command)
    }
  }
  function compare(
    expected: string[] | null,
    output: string,
    command: { command: string; line: number },
  ) {
    if (!expected) return
    checked++
    const actual = toLesson(output, context).replace(/\n+$/, '').split('\n')
    if (mismatch(expected, actual))
      problems.push({
        where: `${relative(ROOT, file)}:${command.line}`,
        command: command.command,
        expected,
        actual: actual.join('\n'),
      })
  }
}

// `<!-- check: start ACK_MODE=semi-sync -->`: the environment to start the
// step with, for this block and the ones after it. `<!-- check: start
// step01 -->`: another step, for this block alone (a lesson that shows what
// the step before it did).
// Every block is checked: there is no other directive.
function startOf(
  block: LessonBlock,
  where: string,
): { env: Record<string, string>; step?: Step } | undefined {
  if (block.directive === undefined) return undefined
  const words = /^start\b(.*)$/.exec(block.directive)?.[1]?.trim()
  if (words === undefined)
    throw new Error(
      `${where}: unknown "check: ${block.directive}" (every block is checked; "check: start ..." is the only directive)`,
    )
  const env: Record<string, string> = {}
  let step: Step | undefined
  for (const word of words.split(/\s+/).filter(Boolean)) {
    const [name, value] = word.split('=') as [string, string | undefined]
    if (value !== undefined) env[name] = value
    else if (!(step = findStep(word)))
      throw new Error(
        `${where}: no step ${word} in "check: ${block.directive}"`,
      )
  }
  return { env, step }
}

const isStart = (block: LessonBlock) =>
  /^(\w+=\S+ )*npm start -- step\d\d$/.test(block.commands[0]?.command ?? '')

function lessonsOf(step: Step): { file: string; step?: Step }[] {
  const exercise = join(ROOT, 'exercises', step.id, 'README.md')
  return [
    { file: join(step.dir, 'README.md'), step },
    ...(existsSync(exercise) ? [{ file: exercise }] : []),
  ]
}

async function main() {
  const args = process.argv.slice(2)
  const fileAt = args.indexOf('--file')
  let lessons: { file: string; step?: Step }[]
  if (fileAt >= 0) {
    const step = args[0] && args[0] !== '--file' ? findStep(args[0]) : undefined
    lessons = [{ file: args[fileAt + 1]!, step }]
  } else if (args[0]) {
    const step = findStep(args[0])
    if (!step) throw new Error(`No step ${args[0]}`)
    lessons = lessonsOf(step)
  } else {
    lessons = [
      { file: join(ROOT, 'README.md') },
      { file: join(ROOT, 'WORKSHOP.md') },
      ...listSteps().flatMap(lessonsOf),
    ]
  }
  const problems: Problem[] = []
  for (const lesson of lessons)
    problems.push(...(await checkFile(lesson.file, lesson.step)))
  for (const problem of problems) {
    console.error(`\n${problem.where}: $ ${problem.command}`)
    console.error(`  the lesson shows:\n${indent(problem.expected.join('\n'))}`)
    console.error(`  it printed:\n${indent(problem.actual)}`)
  }
  if (problems.length > 0) {
    console.error(
      `\n${problems.length} lesson output(s) differ from what the commands print.`,
    )
    process.exit(1)
  }
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    | ${line}`)
    .join('\n')

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error)
  process.exit(1)
})
