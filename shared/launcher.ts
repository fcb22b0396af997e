// A step's system.ts describes its diagram once: "start a database, three app
// servers, a balancer". A Launch decides how each node runs: in this process
// (fast, for most tests) or as a real OS process (for `npm start` and the
// tests that kill a node with a signal). Both give the same RunningNode.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { compiled } from './build'
import { portOf, type Handle } from './net'
import type { ProcessStats } from './process-stats'
import { GiveUp, waitFor } from './wait-for'

export interface NodeOptions {
  name: string
  port?: number
  /** Where the node stands on the diagram, for the topology file. */
  region?: string
  shard?: string
  /** Run under a supervisor: when the process dies on its own (a crash, a
   * kill -9 from a shell), start it again, with a growing back-off. A
   * kill() or close() through the launcher is meant, and stays down. */
  supervised?: boolean
}
// A role is a component's start function: `startAppServer`, `startDbServer`...
export type Role = (options: never) => Promise<Handle>
export type Roles = Record<string, Role>
export type OptionsOf<R extends Role> = Parameters<R>[0] & NodeOptions

export interface RunningNode extends Handle {
  name: string
  role: string
  region?: string
  shard?: string
  pid: number
  /** False once the node stopped or was killed, until it restarts. */
  readonly alive: boolean
  /** The process's latest report (CPU, memory, answer times), about once a
   * second; undefined for a node in the test's own process, or a dead one. */
  readonly stats?: ProcessStats
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
      region: options.region,
      shard: options.shard,
      pid: process.pid,
      url,
      get alive() {
        return running
      },
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

// Each node is `node <compiled entry> <role>` (see build.ts), its options in
// the WORKSHOP_NODE environment variable; it reports its URL over IPC.
export function asProcesses<R extends Roles>(
  entry: string,
  { log = () => {}, startTimeoutMs = 20_000 }: ProcessLaunchOptions = {},
): Launch<R> {
  let script: Promise<string> | undefined
  return async (role, nodeOptions) => {
    const options = nodeOptions as NodeOptions
    script ??= compiled(entry)
    const js = await script
    let child = await spawnNode(js, role, options, log, startTimeoutMs)
    // The supervisor's state: whether this node should be running, and
    // which start is current (a restart makes a pending respawn stale).
    let wanted = true
    let generation = 0
    let crashes = 0
    const supervise = (current: typeof child, startedAt = Date.now()) => {
      if (!options.supervised) return
      current.process.once('exit', (code, signal) => {
        if (!wanted || current !== child) return
        // Code 0 is a node that was asked to stop and did (Ctrl-C reaches
        // every process of the terminal's group, before npm start's own
        // stop): not a crash, nothing to restart.
        if (code === 0) return
        // A node that ran a while before it died starts over at 100 ms.
        crashes = Date.now() - startedAt > 10_000 ? 1 : crashes + 1
        const backoffMs = Math.min(100 * 2 ** (crashes - 1), 5000)
        log(
          `[${options.name}] died (${signal ?? `code ${code}`}): the supervisor restarts it in ${backoffMs} ms`,
        )
        const mine = generation
        const respawn = async () => {
          if (!wanted || mine !== generation) return
          try {
            const again = { ...options, port: portOf(node.url) }
            child = await spawnNode(js, role, again, log, startTimeoutMs)
            node.pid = child.process.pid ?? -1
            supervise(child)
          } catch {
            setTimeout(() => void respawn(), 5000).unref()
          }
        }
        setTimeout(() => void respawn(), backoffMs).unref()
      })
    }
    supervise(child)
    const node: RunningNode = {
      name: options.name,
      role,
      region: options.region,
      shard: options.shard,
      pid: child.process.pid ?? -1,
      url: child.url,
      get alive() {
        return isRunning(child.process)
      },
      get stats() {
        return isRunning(child.process) ? child.stats() : undefined
      },
      close: () => {
        wanted = false
        return stopProcess(child.process, 'SIGTERM')
      },
      kill: (signal = 'SIGKILL') => {
        wanted = false
        return stopProcess(child.process, signal)
      },
      restart: async () => {
        wanted = false
        generation++
        await stopProcess(child.process, 'SIGTERM')
        const again = { ...options, port: portOf(node.url) }
        child = await spawnNode(js, role, again, log, startTimeoutMs)
        node.pid = child.process.pid ?? -1
        wanted = true
        crashes = 0
        supervise(child)
      },
    }
    return node
  }
}

/** Some nodes as real processes, the ones `real` picks (to SIGKILL them),
 * and the others in this process, where most tests run them. */
export function someAsProcesses<R extends Roles>(
  roles: R,
  entry: string,
  real: (role: keyof R & string, options: NodeOptions) => boolean,
  options?: ProcessLaunchOptions,
): Launch<R> {
  const processes = asProcesses<R>(entry, options)
  const local = inProcess(roles)
  return (role, nodeOptions) =>
    (real(role, nodeOptions as NodeOptions) ? processes : local)(
      role,
      nodeOptions,
    )
}

/** How every node process runs Node. Source maps: stack traces name the .ts
 * lines. A young generation of at most 2 MB per semi-space: V8 lets it grow
 * to 8 MB and more while a node loads its modules, and keeps it; capped, a
 * node takes some 5-10 MB less (step 9: 1,650 MB in all, 1,570 capped). The
 * price is more frequent minor garbage collections, each a short one. */
export const NODE_FLAGS = ['--enable-source-maps', '--max-semi-space-size=2']

async function spawnNode(
  entry: string,
  role: string,
  options: NodeOptions,
  log: (line: string) => void,
  startTimeoutMs: number,
): Promise<{
  process: ChildProcess
  url: string
  stats: () => ProcessStats | undefined
}> {
  const child = spawn(process.execPath, [...NODE_FLAGS, entry, role], {
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
  let stats: ProcessStats | undefined
  let exitCode: number | null | undefined
  child.on('message', (message: { ready?: string; stats?: ProcessStats }) => {
    if (message.ready) url = message.ready
    if (message.stats) stats = message.stats
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
  return { process: child, url: url!, stats: () => stats }
}

const isRunning = (child: ChildProcess) =>
  child.exitCode === null && child.signalCode === null

async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
): Promise<void> {
  if (!isRunning(child)) return
  const exited = once(child, 'exit')
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
