// npm run purge -- step06 /static/app.css    drop one URL from every edge
// npm run purge -- step06 --tag assets       drop everything tagged so
// The purge token comes from the running step's topology (.run/stepNN.json).
import { fail, runningStep } from './running'

const USAGE = 'Usage: npm run purge -- step06 /path   (or --tag <tag>)'

async function main() {
  const [stepArg, first, second] = process.argv.slice(2)
  const { topology } = runningStep(stepArg, USAGE)
  if (!topology.purgeToken)
    fail('This step has no CDN: edges arrive in step 6.')
  const body =
    first === '--tag' && second
      ? { tag: second }
      : first?.startsWith('/')
        ? { url: first }
        : undefined
  if (!body) fail(USAGE)
  for (const edge of topology.nodes.filter((node) => node.role === 'edge')) {
    const reply = await fetch(`${edge.url}/_edge/purge`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${topology.purgeToken}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
    }).catch(() => undefined)
    const answer = (await reply?.json().catch(() => undefined)) as
      { purged?: number } | undefined
    console.log(
      reply?.ok
        ? `${edge.name}: purged ${answer?.purged ?? 0}`
        : `${edge.name}: does not answer`,
    )
  }
}

void main()
