// Runs `npm start -- <step>` the way a learner does, for the tests that prove
// the multi-process path: real processes, the .run/ topology file, and a
// clean stop on Ctrl-C (SIGINT to the process group) or SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../steps'
import type { Topology } from '../topology'
import { GiveUp, waitFor } from '../wait-for'
import { tempDir } from './temp'

export interface NpmStart {
  topology: Topology
  runFile: string
  output(): string
  /** 'ctrl-c' sends SIGINT to the whole process group, as a terminal does. */
  stop(how: 'ctrl-c' | 'sigterm'): Promise<void>
}

export async function npmStart(
  step: string,
  env: Record<string, string> = {},
): Promise<NpmStart> {
  const dirs = tempDir()
  const runFile = join(dirs.path, 'run', `${step}.json`)
  const child: ChildProcess = spawn('npm', ['start', '--silent', '--', step], {
    cwd: ROOT,
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      RUN_DIR: join(dirs.path, 'run'),
      DATA_DIR: join(dirs.path, 'data'),
      ...env,
    },
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk))
  let topology: Topology
  try {
    topology = await waitFor(
      `npm start -- ${step} to write ${runFile}`,
      () => {
        if (child.exitCode !== null)
          throw new GiveUp(`npm start exited early:\n${output}`)
        return (
          existsSync(runFile) &&
          (JSON.parse(readFileSync(runFile, 'utf8')) as Topology)
        )
      },
      { timeoutMs: 30_000 },
    )
  } catch (error: unknown) {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL')
    dirs.remove()
    throw error
  }
  // Every node process the run has had: those it started with, and those
  // a restart (chaos, the dashboard, the supervisor) put in their place,
  // as the topology file names them now.
  const pids = new Set(topology.nodes.map((node) => node.pid))
  const current = () => {
    try {
      const now = JSON.parse(readFileSync(runFile, 'utf8')) as Topology
      for (const node of now.nodes) pids.add(node.pid)
    } catch {
      // Gone (npm start removes it as it stops) or being rewritten.
    }
    return [...pids].filter((pid) => pid > 0)
  }
  return {
    topology,
    runFile,
    output: () => output,
    async stop(how) {
      current() // before npm start removes the file
      if (how === 'ctrl-c') process.kill(-child.pid!, 'SIGINT')
      else child.kill('SIGTERM')
      try {
        await waitFor(
          'npm start to exit',
          () => child.exitCode !== null || child.signalCode !== null,
          {
            timeoutMs: 20_000,
          },
        )
        await waitFor('every node process to exit', () =>
          current().every((pid) => !isAlive(pid)),
        )
      } finally {
        // Whatever happened, leave nothing running behind the test.
        for (const pid of current())
          if (isAlive(pid)) process.kill(pid, 'SIGKILL')
        if (child.exitCode === null && child.signalCode === null)
          process.kill(-child.pid!, 'SIGKILL')
        dirs.remove()
      }
    },
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
