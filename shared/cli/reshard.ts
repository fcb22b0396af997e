// npm run reshard -- step09 add      add a shard to the running system
// npm run reshard -- step09 remove   move the last shard's links away, stop it
// (`npm run reshard -- add` is the same: only step 9 has shards.)
// It asks the running `npm start`, which starts (or stops) the shard's
// processes, so that Ctrl-C there still stops every one of them. Progress
// lines show as the move goes.
import { fail, runningStep } from './running'

const USAGE = 'Usage: npm run reshard -- step09 add   (or remove)'

async function main() {
  const args = process.argv.slice(2)
  const [stepArg, action] = args.length === 1 ? ['step09', ...args] : args
  if (action !== 'add' && action !== 'remove') fail(USAGE)
  const { topology } = runningStep(stepArg, USAGE)
  const reply = await fetch(
    `${topology.control.url}/system/reshard-${action}`,
    {
      method: 'POST',
      headers: { Authorization: `Bearer ${topology.control.token}` },
    },
  ).catch(() => fail(`npm start does not answer at ${topology.control.url}.`))
  if (reply.status === 404)
    fail('This step has no shards: they arrive in step 9.')
  if (!reply.ok || !reply.body) fail(`npm start answered ${reply.status}.`)
  let last = ''
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of reply.body) {
    text += decoder.decode(chunk, { stream: true })
    const lines = text.split('\n')
    text = lines.pop()!
    for (const line of lines) {
      if (line.startsWith('{')) last = line
      else console.log(line)
    }
  }
  const outcome = JSON.parse(last || '{}') as {
    result?: {
      moved: number
      total: number
      tookMs: number
      shard: string
      epoch: number
    }
    error?: string
  }
  if (!outcome.result)
    fail(`Resharding failed: ${outcome.error ?? 'no answer'}`)
  const { moved, total, tookMs, shard, epoch } = outcome.result
  const share = total ? ((100 * moved) / total).toFixed(1) : '0'
  console.log(
    `${action === 'add' ? 'Added' : 'Removed'} ${shard}: ${moved} of ${total} links moved (${share}%) in ${tookMs} ms; the shard map is at epoch ${epoch}.`,
  )
}

void main()
