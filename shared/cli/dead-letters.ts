// npm run dead-letters -- step08             list every worker's dead letters
// npm run dead-letters -- step08 --redrive   put them back in their queues
// The admin token comes from the running step's topology (.run/stepNN.json).
import { fail, runningStep } from './running'

const USAGE = 'Usage: npm run dead-letters -- step08 [--redrive]'

interface DeadLetter {
  id: string
  type: string
  code: string
  failedReason: string
}

async function main() {
  const [stepArg, option] = process.argv.slice(2)
  if (option !== undefined && option !== '--redrive') fail(USAGE)
  const { topology } = runningStep(stepArg, USAGE)
  const workers = topology.nodes.filter((node) => node.role === 'worker')
  if (workers.length === 0 || !topology.adminToken)
    fail('This step has no workers: queues arrive in step 8.')
  const auth = { Authorization: `Bearer ${topology.adminToken}` }
  for (const worker of workers) {
    const reply = await (
      option === '--redrive'
        ? fetch(`${worker.url}/dead-letters/redrive`, {
            method: 'POST',
            headers: auth,
          })
        : fetch(`${worker.url}/dead-letters`, { headers: auth })
    ).catch(() => undefined)
    const answer = (await reply?.json().catch(() => undefined)) as
      { dead?: DeadLetter[]; redriven?: number } | undefined
    if (!reply?.ok || !answer) {
      console.log(`${worker.name}: does not answer`)
    } else if (option === '--redrive') {
      console.log(`${worker.name}: re-drove ${answer.redriven ?? 0}`)
    } else {
      const dead = answer.dead ?? []
      console.log(
        `${worker.name}: ${dead.length} dead letter${dead.length === 1 ? '' : 's'}`,
      )
      for (const letter of dead)
        console.log(
          `  ${letter.id}  ${letter.type} ${letter.code}: ${letter.failedReason}`,
        )
    }
  }
}

void main()
