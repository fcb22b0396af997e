// A step's system.ts describes its diagram once: "start a database, three app
// servers, a balancer". A Launch decides how each node runs: in this process
// (fast, for most tests) or as a real OS process (for `npm start` and the
// tests that kill a node with a signal). Both give the same RunningNode.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { portOf, type Handle } from './net'
import { GiveUp, waitFor } from './wait-for'

export interface NodeOptions {
  name: string
  port?: number
}
// A role is a component's start function: `startAppServer`, `startDbServer`...
export type Role = (options: never) => Promise<Handle>
export type Roles = Record<string, Role>
export type OptionsOf<R extends Role> = Parameters<R>[0] & NodeOptions

export interface RunningNode extends Handle {
  name: string
  role: string
  pid: number
  /** Stops the node at once: SIGKILL for a process, no draining. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts the node again on the port it had, after kill() or close(). */
  restart(): Promise<void>
}

export type Launch<R extends Roles> = <K extends keyof R & string>(
  role: K,
  options: OptionsOf<R[K]>,
) => Promise<RunningNode>

type Starter = (options: NodeOptions) => Promise<Handle>

export function inProcess<R extends Roles>(roles: R): Launch<R> {
  return async (role, nodeOptions) => {
    const options = nodeOptions as NodeOptions
    const start = roles[role] as unknown as Starter
    let handle = await start(options)
    let running = true
    const url = handle.url
    const stop = async () => {
      if (running) await handle.close()
      running = false
    }
    return {
      name: options.name,
      role,
      pid: process.pid,
      url,
      close: stop,
      kill: stop,
      restart: async () => {
        await stop()
        handle = await start({ ...options, port: portOf(url) })
        running = true
      },
    }
  }
}

export interface ProcessLaunchOptions {
  /** Receives every line a node prints, prefixed with its name. */
  log?: (line: string) => void
  startTimeoutMs?: number
}

// Each node is `node --import tsx <entry> <role>`, its options in the
// WORKSHOP_NODE environment variable; it reports its URL over the IPC channel.
export function asProcesses<R extends Roles>(
  entry: string,
  { log = () => {}, startTimeoutMs = 20_000 }: ProcessLaunchOptions = {},
): Launch<R> {
  return async (role, nodeOptions) => {
    const options = nodeOptions as NodeOptions
    let child = await spawnNode(entry, role, options, log, startTimeoutMs)
    const node: RunningNode = {
      name: options.name,
      role,
      pid: child.process.pid ?? -1,
      url: child.url,
      close: () => stopProcess(child.process, 'SIGTERM'),
      kill: (signal = 'SIGKILL') => stopProcess(child.process, signal),
      restart: async () => {
        await stopProcess(child.process, 'SIGTERM')
        const again = { ...options, port: portOf(node.url) }
        child = await spawnNode(entry, role, again, log, startTimeoutMs)
        node.pid = child.process.pid ?? -1
      },
    }
    return node
  }
}

async function spawnNode(
  entry: string,
  role: string,
  options: NodeOptions,
  log: (line: string) => void,
  startTimeoutMs: number,
): Promise<{ process: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, role], {
    env: { ...process.env, WORKSHOP_NODE: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const recent: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      recent.push(line)
      if (recent.length > 30) recent.shift()
      log(`[${options.name}] ${line}`)
    })
  }
  let url: string | undefined
  let exitCode: number | null | undefined
  child.on('message', (message: { ready?: string }) => {
    if (message.ready) url = message.ready
  })
  child.once('exit', (code, signal) => {
    exitCode = code
    log(`[${options.name}] exited (${signal ?? `code ${code}`})`)
  })
  try {
    await waitFor(
      `${options.name} (${role}) to start`,
      () => {
        if (exitCode !== undefined) {
          throw new GiveUp(`exited with code ${exitCode}`)
        }
        return url
      },
      { timeoutMs: startTimeoutMs },
    )
  } catch (error: unknown) {
    child.kill('SIGKILL')
    const output = recent.join('\n')
    throw new Error(`${(error as Error).message}\n${output}`, { cause: error })
  }
  return { process: child, url: url! }
}

async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
