// npm run backup -- step04: an online backup of a running step's database,
// taken from a replica (never the primary while a replica is up), with its
// progress. The file lands in the step's data folder, under backups/. A
// sharded step (9) has several databases: one backup of each.
import { relative } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { databaseRoles, fail, runningStep } from './running'

async function main() {
  const { topology } = runningStep(
    process.argv[2],
    'Usage: npm run backup -- step04',
  )
  if (!topology.adminToken)
    fail('This step has no backups yet: they arrive in step 4.')
  const databases = await databaseRoles(topology)
  if (databases.length === 0) fail('No database node answers.')
  // One group a shard; the nodes of no shard are one group of their own.
  const groups = new Map<string, typeof databases>()
  for (const node of databases)
    groups.set(node.shard ?? '', [
      ...(groups.get(node.shard ?? '') ?? []),
      node,
    ])
  for (const group of groups.values()) await backUp(group, topology.adminToken)
}

async function backUp(
  databases: Awaited<ReturnType<typeof databaseRoles>>,
  adminToken: string,
) {
  // A backup reads every page of the file: let a replica pay for it.
  const source =
    databases.find((node) => node.dbRole === 'replica') ??
    databases.find((node) => node.dbRole === 'primary')
  if (!source) fail('No database node answers.')
  if (source.dbRole === 'primary')
    console.log('No replica is up: backing up the primary instead.')
  console.log(`Backing up ${source.name} (${source.dbRole})...`)
  const reply = await fetch(`${source.url}/admin/backup`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}` },
  })
  if (!reply.ok || !reply.body)
    fail(`The backup failed: ${reply.status} ${await reply.text()}`)
  const lines = createInterface({
    input: Readable.fromWeb(reply.body as never),
  })
  for await (const line of lines) {
    const message = JSON.parse(line) as {
      totalPages?: number
      remainingPages?: number
      done?: { file: string; seq: number; epoch: number; bytes: number }
    }
    if (message.done) {
      const { file, seq, epoch, bytes } = message.done
      console.log(
        `Backup of ${source.name} at seq ${seq} (epoch ${epoch}), ${Math.ceil(bytes / 1024)} KB:\n  ${relative(process.cwd(), file)}`,
      )
    } else {
      // Progress, for a file that takes more than one step to copy.
      const { totalPages = 0, remainingPages = 0 } = message
      const done = totalPages - remainingPages
      if (totalPages > 100 && remainingPages > 0)
        console.log(
          `  ${Math.round((100 * done) / totalPages)}% of ${totalPages} pages`,
        )
    }
  }
}

void main()
