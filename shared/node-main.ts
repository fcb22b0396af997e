// The body of every step's main.ts: run one node of the topology in this
// process. The launcher passes the node's role as the first argument and its
// options as JSON in WORKSHOP_NODE; the node reports its URL back over IPC.
import type { Roles } from './launcher'

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
  const handle = await start(options)
  console.log(`${options.name ?? role} (${role}) listening on ${handle.url}`)
  process.send?.({ ready: handle.url })

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
