// Steps 5 to 9 need a real Redis. Tests and `npm start` use REDIS_URL when it
// is set (steps 7 to 9 run one per region and always start their own);
// otherwise they start a private `redis-server` from PATH on a free
// port, with persistence off unless asked for, and stop it afterwards. Never the shared 6379:
// tests that kill Redis must not take a learner's other work down with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import type { RunningNode } from './launcher'
import { LOOPBACK, freePort } from './net'
import { GiveUp, waitFor } from './wait-for'

export interface RedisHandle {
  url: string
  /** Whether this handle started (and so may stop) its own redis-server. */
  private: boolean
  /** The private server's process id; -1 for a Redis given by REDIS_URL. */
  readonly pid: number
  /** Whether the private server runs; always true for REDIS_URL's. */
  readonly alive: boolean
  close(): Promise<void>
  /** SIGKILL the private server: a cache-tier crash, for fault tests. */
  kill(): Promise<void>
  /** Start the private server again on the same port. */
  restart(): Promise<void>
}

export const INSTALL_REDIS = [
  'No redis-server was found on PATH and REDIS_URL is not set.',
  'Install Redis, then run the command again:',
  '  Debian/Ubuntu: sudo apt-get install redis-server',
  '  macOS:         brew install redis',
  '  Windows:       use WSL and the Debian/Ubuntu line, or run Memurai',
  'or point REDIS_URL at a Redis you already run (redis://127.0.0.1:6379).',
].join('\n')

export interface StartRedisOptions {
  redisUrl?: string | undefined
  binary?: string
  port?: number
  /** Keep the data across a restart in an append-only file in this folder
   * (fsync once a second: a crash can lose the last second of writes). */
  appendOnlyDir?: string
}

// Pass `redisUrl: undefined` explicitly to ignore REDIS_URL (the launcher's
// own tests do, to always start a private server).
export async function startRedis(
  options: StartRedisOptions = {},
): Promise<RedisHandle> {
  const { binary = 'redis-server', port } = options
  const redisUrl =
    'redisUrl' in options ? options.redisUrl : process.env.REDIS_URL
  if (redisUrl) {
    const unsupported = async () => {
      throw new Error('Cannot kill or restart a Redis given by REDIS_URL.')
    }
    return {
      url: redisUrl,
      private: false,
      pid: -1,
      alive: true,
      close: async () => {},
      kill: unsupported,
      restart: unsupported,
    }
  }
  if (!hasBinary(binary)) throw new Error(INSTALL_REDIS)
  let chosen = port ?? (await freePort())
  let server: ChildProcess | undefined
  // A free port can be taken between freePort() and redis-server's bind:
  // pick another and try again (only when no port was asked for).
  for (let attempt = 1; !server; attempt++) {
    try {
      server = await spawnRedis(binary, chosen, options.appendOnlyDir)
    } catch (error: unknown) {
      if (port !== undefined || attempt === 3) throw error
      chosen = await freePort()
    }
  }
  const url = `redis://${LOOPBACK}:${chosen}`
  return {
    url,
    private: true,
    get pid() {
      return server?.pid ?? -1
    },
    get alive() {
      return server?.exitCode === null && server.signalCode === null
    },
    close: () => stop(server!, 'SIGTERM'),
    kill: () => stop(server!, 'SIGKILL'),
    restart: async () => {
      await stop(server!, 'SIGTERM')
      server = await spawnRedis(binary, chosen, options.appendOnlyDir)
    },
  }
}

/** A Redis as one node of a step's topology, beside the launched ones. */
export function redisNode(
  name: string,
  redis: RedisHandle,
  region?: string,
): RunningNode {
  return {
    name,
    role: 'cache',
    region,
    url: redis.url,
    get pid() {
      return redis.pid
    },
    get alive() {
      return redis.alive
    },
    close: redis.close,
    kill: redis.kill,
    restart: redis.restart,
  }
}

function hasBinary(binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' })
  return probe.error === undefined && probe.status === 0
}

async function spawnRedis(
  binary: string,
  port: number,
  appendOnlyDir?: string,
): Promise<ChildProcess> {
  if (appendOnlyDir) mkdirSync(appendOnlyDir, { recursive: true })
  const persistence = appendOnlyDir
    ? [
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--dir',
        appendOnlyDir,
      ]
    : ['--appendonly', 'no']
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      LOOPBACK,
      '--save',
      '',
      ...persistence,
      '--protected-mode',
      'yes',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  // redis-server does not notice when we exit: take it with us, so a test
  // run that ends early leaves no server behind. (A SIGKILL of this process
  // still can; nothing in Node runs then.)
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  child.once('exit', () => process.off('exit', reap))
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  try {
    await waitFor(`redis-server on port ${port} to answer PING`, async () => {
      if (child.exitCode !== null) {
        throw new GiveUp(`redis-server exited:\n${output.slice(-500)}`)
      }
      return (await ping(port)) === '+PONG'
    })
  } catch (error: unknown) {
    child.kill('SIGKILL')
    throw error
  }
  return child
}

// Speaks just enough of the Redis protocol to ask PING, with no client library.
export function ping(port: number, host = LOOPBACK): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write('PING\r\n'))
    socket.setTimeout(1000, () => socket.destroy(new Error('PING timed out')))
    socket.once('data', (data) => {
      resolve(data.toString().trim())
      socket.end()
    })
    socket.once('error', reject)
  })
}

async function stop(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  await exited
}
