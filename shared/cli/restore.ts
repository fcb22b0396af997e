// npm run restore -- step04 --to-seq N   (or --to-time 2026-12-02T10:00:00Z)
// Point-in-time recovery of a running step: the newest backup at or before
// the moment, brought forward by the primary's log into a file of its own,
// then every link alive in it that is missing or deleted now is written
// back through the primary. --file-only stops after the file. A sharded
// step (9) keeps a log and backups per shard, with seqs of their own:
// --shard shard-1 restores that shard alone, from its own files.
import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Step } from '../steps'
import type { Topology } from '../topology'
import { databaseRoles, fail, runningStep } from './running'

interface LogEntry {
  seq: number
  epoch: number
  sql: string
  params: string
  createdAt: number
}
type Row = Record<string, string | number | null>
interface Recovery {
  rebuild(
    backup: { file: string; seq: number },
    entries: LogEntry[],
    toSeq: number,
    out: string,
  ): { file: string; seq: number; alive: Row[] }
  seqAt(entries: LogEntry[], time: number): number | undefined
  readStamp(file: string): { seq: number }
}
interface ShardMaps {
  readShardMap(file: string): { previous?: unknown } | undefined
  routerFor(map: object): { owner(code: string): string }
}

const USAGE =
  'Usage: npm run restore -- step04 --to-seq N   (or --to-time 2026-12-02T10:00:00Z) [--shard shard-1] [--file-only]'

// The primary takes at most 5 MB per /admin/restore: send the rows in
// requests of at most this much JSON, so that a restore of many links goes
// through, a request at a time.
const BATCH_BYTES = 1024 * 1024

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name)
  return at > 0 ? process.argv[at + 1] : undefined
}

// A step with shards restores one of them; --shard elsewhere is a mistake.
function chooseShard(step: Step, topology: Topology): string | undefined {
  const shards = [
    ...new Set(
      topology.nodes.flatMap((n) =>
        n.role === 'database' && n.shard ? [n.shard] : [],
      ),
    ),
  ].sort()
  const asked = option('--shard')
  if (shards.length === 0) {
    if (process.argv.includes('--shard'))
      fail(`${step.id} has no shards: leave out --shard.`)
    return undefined
  }
  if (asked && shards.includes(asked)) return asked
  fail(
    `${asked ? `There is no shard "${asked}". ` : ''}This step keeps its links on ${shards.length} shards (${shards.join(', ')}), each with its own backups and log: restore one at a time with --shard, e.g.\n` +
      `  npm run restore -- ${process.argv[2]} --shard ${shards[0]} --to-time 2026-12-02T10:00:00Z`,
  )
}

// The backups of the group's nodes only: each file is named after its node.
function backups(dir: string, nodes: string[], recovery: Recovery) {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.db'))
    .filter((name) => nodes.some((node) => name.startsWith(`${node}-`)))
    .map((name) => join(dir, name))
    .map((file) => ({ file, seq: recovery.readStamp(file).seq }))
    .sort((a, b) => a.seq - b.seq)
}

// The whole log the primary keeps, page by page, and its newest seq.
async function readLog(url: string, auth: Record<string, string>) {
  const entries: LogEntry[] = []
  for (let after = 0; ;) {
    const reply = await fetch(`${url}/admin/log?after=${after}`, {
      headers: auth,
    })
    if (!reply.ok)
      fail(
        `The primary did not give its log: ${reply.status} ${await reply.text()}`,
      )
    const page = (await reply.json()) as {
      entries: LogEntry[]
      headSeq: number
    }
    if (page.entries.length === 0) return { entries, headSeq: page.headSeq }
    entries.push(...page.entries)
    after = page.entries.at(-1)!.seq
  }
}

// --to-seq as given, or --to-time as the last write at or before it. A seq
// past the end of the log would rebuild today's data and restore nothing:
// most likely a typing slip, or a seq of another shard or another run.
function targetSeq(recovery: Recovery, entries: LogEntry[], headSeq: number) {
  const time = option('--to-time')
  const given = option('--to-seq')
  if ((time === undefined) === (given === undefined)) fail(USAGE)
  if (time !== undefined) {
    const at = Date.parse(time)
    if (Number.isNaN(at))
      fail(
        `--to-time "${time}" is not a time: write it as 2026-12-02T10:00:00Z.`,
      )
    const seq = recovery.seqAt(entries, at)
    if (seq === undefined)
      fail(
        `No write in the log kept is at or before ${new Date(at).toISOString()}: ` +
          (entries[0]
            ? `the oldest is seq ${entries[0].seq}, at ${new Date(entries[0].createdAt).toISOString()}.`
            : 'the log is empty.'),
      )
    console.log(
      `${new Date(at).toISOString()} is seq ${seq}: the last write at or before it.`,
    )
    return seq
  }
  const seq = Number(given)
  if (!Number.isSafeInteger(seq) || seq < 0)
    fail(`--to-seq must be a seq number (a write's X-DB-Seq), not "${given}".`)
  if (seq > headSeq)
    fail(
      `seq ${seq} is past the end of the log: the newest write is seq ${headSeq}, so there is nothing to undo after it. ` +
        `Give the seq of the last write before the mistake (at most ${headSeq}), or --to-time.`,
    )
  return seq
}

// After a reshard, a shard's backups and log still hold the links it gave
// away (their old copies were removed by a logged DELETE): written back
// here, they would be copies that no app server reads.
async function ownedHere(
  step: Step,
  dataDir: string,
  shard: string,
  rows: Row[],
) {
  const maps = (await import(
    join(step.dir, 'src', 'sharding', 'shard-map.ts')
  )) as ShardMaps
  const file = join(dataDir, 'shard-map.json')
  const map = maps.readShardMap(file)
  if (!map) fail(`No shard map in ${relative(process.cwd(), file)}.`)
  if (map.previous) fail('A reshard is under way: restore once it has ended.')
  const owner = maps.routerFor(map).owner
  const elsewhere = rows.filter((row) => owner(String(row.code)) !== shard)
  if (elsewhere.length > 0)
    console.log(
      `Left out ${elsewhere.length} link(s) that the shard map gives to another shard now: ` +
        list(
          elsewhere.map((row) => `${row.code} (${owner(String(row.code))})`),
        ),
    )
  return rows.filter((row) => owner(String(row.code)) === shard)
}

/** Rows in groups of at most maxBytes of JSON each (one row may be more). */
function batches(rows: Row[], maxBytes: number): Row[][] {
  const out: Row[][] = [[]]
  let bytes = 0
  for (const row of rows) {
    const size = Buffer.byteLength(JSON.stringify(row)) + 1
    if (bytes + size > maxBytes && out.at(-1)!.length > 0) {
      out.push([])
      bytes = 0
    }
    out.at(-1)!.push(row)
    bytes += size
  }
  return out
}

// The primary writes back only the rows missing or deleted now; the others
// are left alone, so sending the same rows again is harmless.
async function bringBack(
  url: string,
  rows: Row[],
  auth: Record<string, string>,
) {
  const requests = batches(rows, BATCH_BYTES)
  const restored: string[] = []
  for (const [i, batch] of requests.entries()) {
    const reply = await fetch(`${url}/admin/restore`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rows: batch }),
    })
    const body = (await reply.json()) as {
      restored?: string[]
      error?: { message: string }
    }
    if (!reply.ok)
      fail(
        `The primary refused request ${i + 1} of ${requests.length}: ${body.error?.message ?? reply.status}.` +
          (restored.length
            ? ` ${restored.length} link(s) are back already; running the same command again is safe.`
            : ''),
      )
    restored.push(...body.restored!)
    if (requests.length > 1)
      console.log(
        `  request ${i + 1} of ${requests.length}: ${batch.length} rows sent, ${body.restored!.length} brought back`,
      )
  }
  return restored
}

const list = (items: string[], most = 20) =>
  items.length > most
    ? `${items.slice(0, most).join(', ')} and ${items.length - most} more`
    : items.join(', ')

async function main() {
  const { step, topology } = runningStep(process.argv[2], USAGE)
  if (!topology.adminToken)
    fail('This step has no backups yet: they arrive in step 4.')
  const auth = { Authorization: `Bearer ${topology.adminToken}` }
  const shard = chooseShard(step, topology)
  const of = shard ? ` of ${shard}` : ''
  // The group restored: one shard's nodes, or every database node.
  const nodes = topology.nodes
    .filter((n) => n.role === 'database' && n.shard === shard)
    .map((n) => n.name)
  const primary = (await databaseRoles(topology)).find(
    (n) => n.dbRole === 'primary' && nodes.includes(n.name),
  )
  if (!primary)
    fail(`No primary${of} answers: recovery writes through the primary.`)

  const { entries, headSeq } = await readLog(primary.url, auth)
  const recovery = (await import(
    join(step.dir, 'src', 'database', 'recovery.ts')
  )) as Recovery
  const toSeq = targetSeq(recovery, entries, headSeq)

  const dir = join(topology.dataDir, 'backups')
  const backup = backups(dir, nodes, recovery)
    .filter((b) => b.seq <= toSeq)
    .at(-1)
  if (!backup)
    fail(
      `No backup${of} at or before seq ${toSeq} in ${relative(process.cwd(), dir)}: take one with npm run backup.`,
    )
  const out = join(topology.dataDir, 'restored', shard ?? '', `seq-${toSeq}.db`)
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
  const rows = shard
    ? await ownedHere(step, topology.dataDir, shard, rebuilt.alive)
    : rebuilt.alive
  const restored = await bringBack(primary.url, rows, auth)
  console.log(
    `Brought back through ${primary.name}: ${restored.length} link(s)${restored.length ? `: ${list(restored)}` : ''}`,
  )
}

main().catch((error: unknown) => fail((error as Error).message))
