// npm run restore -- step04 --to-seq N   (or --to-time 2026-12-02T10:00:00Z)
// Point-in-time recovery of a running step: the newest backup at or before
// the moment, brought forward by the primary's log into a file of its own,
// then every link alive in it that is missing or deleted now is written
// back through the primary. --file-only stops after the file.
import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { databaseRoles, fail, runningStep } from './running'

interface LogEntry {
  seq: number
  epoch: number
  sql: string
  params: string
  createdAt: number
}
interface Recovery {
  rebuild(
    backup: { file: string; seq: number },
    entries: LogEntry[],
    toSeq: number,
    out: string,
  ): { file: string; seq: number; alive: Record<string, unknown>[] }
  seqAt(entries: LogEntry[], time: number): number | undefined
  readStamp(file: string): { seq: number }
}

const USAGE =
  'Usage: npm run restore -- step04 --to-seq N   (or --to-time 2026-12-02T10:00:00Z) [--file-only]'

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : undefined
}

function backups(dir: string, recovery: Recovery) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.db'))
    .map((name) => join(dir, name))
    .map((file) => ({ file, seq: recovery.readStamp(file).seq }))
    .sort((a, b) => a.seq - b.seq)
}

async function main() {
  const { step, topology } = runningStep(process.argv[2], USAGE)
  if (!topology.adminToken)
    fail('This step has no backups yet: they arrive in step 4.')
  const auth = { Authorization: `Bearer ${topology.adminToken}` }
  const primary = (await databaseRoles(topology)).find(
    (n) => n.dbRole === 'primary',
  )
  if (!primary) fail('No primary answers: recovery writes through the primary.')

  // The whole log the primary keeps, page by page.
  const entries: LogEntry[] = []
  for (let after = 0; ;) {
    const reply = await fetch(`${primary.url}/admin/log?after=${after}`, {
      headers: auth,
    })
    const page = (await reply.json()) as { entries: LogEntry[] }
    if (page.entries.length === 0) break
    entries.push(...page.entries)
    after = page.entries.at(-1)!.seq
  }
  const recovery = (await import(
    join(step.dir, 'src', 'database', 'recovery.ts')
  )) as Recovery
  const time = option('--to-time')
  const toSeq = time
    ? recovery.seqAt(entries, Date.parse(time))
    : Number(option('--to-seq'))
  if (toSeq === undefined || !Number.isSafeInteger(toSeq)) fail(USAGE)

  const dir = join(topology.dataDir, 'backups')
  const backup = backups(dir, recovery)
    .filter((b) => b.seq <= toSeq)
    .at(-1)
  if (!backup)
    fail(
      `No backup at or before seq ${toSeq} in ${relative(process.cwd(), dir)}: take one with npm run backup.`,
    )
  const out = join(topology.dataDir, 'restored', `seq-${toSeq}.db`)
  let rebuilt
  try {
    rebuilt = recovery.rebuild(backup, entries, toSeq, out)
  } catch (error: unknown) {
    fail((error as Error).message)
  }
  console.log(
    `Rebuilt seq ${rebuilt.seq} from ${relative(process.cwd(), backup.file)} (seq ${backup.seq}) and ${rebuilt.seq - backup.seq} log entries:\n  ${relative(process.cwd(), rebuilt.file)} (${rebuilt.alive.length} live links)`,
  )
  if (process.argv.includes('--file-only')) return
  const reply = await fetch(`${primary.url}/admin/restore`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ rows: rebuilt.alive }),
  })
  const body = (await reply.json()) as {
    restored?: string[]
    error?: { message: string }
  }
  if (!reply.ok)
    fail(`The primary refused: ${body.error?.message ?? reply.status}`)
  console.log(
    `Brought back through ${primary.name}: ${body.restored!.length} link(s)${body.restored!.length ? `: ${body.restored!.join(', ')}` : ''}`,
  )
}

void main()
