// The body of every step's main.ts: run one node of the topology in this
// process. The launcher passes the node's role as the first argument and its
// options as JSON in WORKSHOP_NODE; the node reports its URL back over IPC.
import type { Roles } from './launcher'
import { processStats } from './process-stats'

export async function runNode(roles: Roles): Promise<void> {
  const role = process.argv[2] ?? ''
  const start = roles[role] as
    | ((options: unknown) => Promise<{ url: string; close(): Promise<void> }>)
    | undefined
  if (!start) {
    const known = Object.keys(roles).join(', ')
    console.error(`Unknown role "${role}". Roles of this step: ${known}.`)
    process.exit(2)
  }
  const options = JSON.parse(process.env.WORKSHOP_NODE ?? '{}') as {
    name?: string
  }
  // Until its server listens, a node must not exit because nothing seems
  // pending: some waits at start-up hold no handle of their own (undici's
  // fetch unrefs pooled sockets), and Node would exit with code 0 mid-start.
  const starting = setInterval(() => {}, 60_000)
  const handle = await start(options).finally(() => clearInterval(starting))
  console.log(`${options.name ?? role} (${role}) listening on ${handle.url}`)
  // CPU, memory and answer times, to the launcher once a second.
  process.send?.({ ready: handle.url, stats: processStats() })
  setInterval(() => process.send?.({ stats: processStats() }), 1000).unref()

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await handle.close()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // The launcher went away (even by SIGKILL): never linger as an orphan.
  process.on('disconnect', () => process.exit(0))
}
