// npm run chaos -- step04 kill db-1      SIGKILL one node of a running step
// npm run chaos -- step04 restart db-1   start it again, on the same port
// It asks the running `npm start` to do it, so that Ctrl-C there still
// stops every process, the restarted one too.
import { findStep, shortName } from '../steps'
import { readTopology } from '../topology'

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

async function main() {
  const [stepArg = '', action = '', name = ''] = process.argv.slice(2)
  const step = findStep(stepArg)
  if (!step || !['kill', 'restart'].includes(action) || !name)
    fail('Usage: npm run chaos -- step04 kill db-1   (or restart db-1)')
  const topology = readTopology(shortName(step))
  if (!topology)
    fail(
      `${shortName(step)} is not running: start it with npm start -- ${shortName(step)}`,
    )
  if (!topology.nodes.some((node) => node.name === name))
    fail(
      `No node "${name}". Nodes: ${topology.nodes.map((n) => n.name).join(', ')}`,
    )
  const reply = await fetch(`${topology.control.url}/nodes/${name}/${action}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${topology.control.token}` },
  }).catch(() => fail(`npm start -- ${shortName(step)} does not answer.`))
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

void main()
