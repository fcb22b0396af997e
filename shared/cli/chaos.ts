// npm run chaos -- step04 kill db-1      SIGKILL one node of a running step
// npm run chaos -- step04 restart db-1   start it again, on the same port
// npm run chaos -- step04 burst [n] [code]
//                                        n GETs (default 1,000, at most
//                                        5,000) of /<code>, or of /, at the
//                                        front door, ten at a time
// Kill and restart ask the running `npm start` to do it, so that Ctrl-C
// there still stops every process, the restarted one too. A burst is the
// dashboard's Burst button, from here: the same code, the same bounds.
import { burst, burstPlan, progressLine } from '../dashboard/burst'
import { shortName } from '../steps'
import type { Topology } from '../topology'
import { fail, runningStep } from './running'

const USAGE =
  'Usage: npm run chaos -- step04 kill db-1   (or restart db-1, or burst [n] [code])'

async function nodeAction(
  step: string,
  topology: Topology,
  action: string,
  name: string,
) {
  if (!name) fail(USAGE)
  if (!topology.nodes.some((node) => node.name === name))
    fail(
      `No node "${name}". Nodes: ${topology.nodes.map((n) => n.name).join(', ')}`,
    )
  const reply = await fetch(`${topology.control.url}/nodes/${name}/${action}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${topology.control.token}` },
  }).catch(() => fail(`npm start -- ${step} does not answer.`))
  const body = (await reply.json()) as {
    error?: string
    pid?: number
    url?: string
  }
  if (!reply.ok) fail(body.error ?? `failed: ${reply.status}`)
  console.log(
    action === 'kill'
      ? `Killed ${name} (SIGKILL).`
      : `Restarted ${name}: pid ${body.pid}, ${body.url}.`,
  )
}

async function burstAction(topology: Topology, n?: string, code?: string) {
  const plan = burstPlan({ requests: n, code })
  if ('error' in plan) fail(`${plan.error}\n${USAGE}`)
  console.log(
    `Burst: ${plan.requests} × GET ${plan.path} at ${topology.frontDoor}, 10 at a time.`,
  )
  const running = burst(topology.frontDoor, plan)
  // Ctrl-C stops sending; the requests under way still finish.
  process.once('SIGINT', () => running.stop())
  const timer = setInterval(
    () => console.log(progressLine(running.progress())),
    1000,
  )
  while (!running.done) await new Promise((r) => setTimeout(r, 50))
  clearInterval(timer)
  console.log(progressLine(running.progress()))
}

async function main() {
  const [stepArg, action = '', ...rest] = process.argv.slice(2)
  if (!['kill', 'restart', 'burst'].includes(action)) fail(USAGE)
  const { step, topology } = runningStep(stepArg, USAGE)
  if (action === 'burst') return burstAction(topology, rest[0], rest[1])
  return nodeAction(shortName(step), topology, action, rest[0] ?? '')
}

void main()
