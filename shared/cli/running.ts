// What the commands that talk to a running step share: find the step and
// its live topology (.run/stepNN.json), or say how to start it.
import { findStep, shortName, type Step } from '../steps'
import { readTopology, type Topology } from '../topology'

export function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

export function runningStep(arg: string | undefined, usage: string) {
  const step = arg ? findStep(arg) : undefined
  if (!step) fail(usage)
  const topology = readTopology(shortName(step))
  if (!topology)
    fail(
      `${shortName(step)} is not running: start it with npm start -- ${shortName(step)}`,
    )
  return { step, topology } as { step: Step; topology: Topology }
}

/** The database nodes with the role each says it has; down ones left out. */
export async function databaseRoles(topology: Topology) {
  const databases = topology.nodes.filter((node) => node.role === 'database')
  const roles = await Promise.all(
    databases.map(async (node) => {
      try {
        const reply = await fetch(`${node.url}/healthz`, {
          signal: AbortSignal.timeout(2000),
        })
        const { role } = (await reply.json()) as { role?: string }
        return { ...node, dbRole: role }
      } catch {
        return undefined
      }
    }),
  )
  return roles.filter((node) => node !== undefined)
}
