// A database node's replication: a primary serves its log to replicas (long
// polling), a replica pulls and applies it. The epoch fences old primaries:
// a write must carry the current epoch, so a primary that was replaced while
// it was down refuses the writes of anyone who still thinks it leads.
// Trade-off: async acknowledgement is fast but can lose the newest writes on
// failover; semi-sync waits for one replica, at the cost of a round trip.
// Across regions, semi-sync waits for a replica in another region (one that
// dies with ours protects nothing), and a primary writes only while it
// holds the witness's lease (see monitor.ts).
import type Database from 'better-sqlite3'
import express from 'express'
import { delay, waitFor } from '../../../../shared/wait-for'
import { HttpError, badRequest } from '../common/http-error'
import { httpCall } from '../common/http-call'
import {
  createReplicationLog,
  type LogEntry,
  type Position,
  type Role,
  type Snapshot,
} from './replication-log'

export interface ReplicationOptions {
  /** The role on first start; afterwards the node remembers its own. */
  role: Role
  primaryUrl?: string
  /** The other database nodes, asked at start-up whether we were replaced. */
  peers?: string[]
  ackMode?: 'async' | 'semi-sync'
  /** Shorter than the app's database timeout, or a slow ack becomes a 503. */
  semiSyncTimeoutMs?: number
  pullIntervalMs?: number
  /** How many log entries to keep (see replication-log.ts). */
  logRetention?: number
  /** This node's region: semi-sync waits for an ack from another one. */
  region?: string
  /** How this node reaches the others, by name (across the WAN when far). */
  addresses?: Record<string, string>
  /** When given, the primary takes writes only under the witness's lease. */
  witnessUrl?: string
}

export interface ReplicationStatus {
  role: Role
  epoch: number
  primaryUrl: string | null
  /** The primary's name, as the witness last pointed us at it. */
  primary: string | null
  /** A primary under the witness's lease may take writes. */
  leased: boolean
  /** A replica that has heard from its primary lately. */
  connected: boolean
  appliedSeq: number
  headSeq: number
  lagEntries: number
  lagMs: number
  paused: boolean
}

export async function startReplication(
  db: Database.Database,
  options: ReplicationOptions & { name: string; token: string },
  log: (line: string) => void,
) {
  const store = createReplicationLog(db, {
    retainEntries: options.logRetention,
  })
  const auth = { Authorization: `Bearer ${options.token}` }
  let role: Role = store.role() ?? options.role
  let epoch = store.epoch()
  let primaryUrl = store.primaryUrl() ?? options.primaryUrl ?? null
  let headSeq = store.position().seq
  let oldestUnapplied: number | undefined // createdAt of the next entry to apply
  let paused = false
  const stopped = new AbortController()
  const calls = new Set<AbortController>() // in flight: close() ends them
  let primaryName: string | null = null
  let pulledAt = 0 // when a pull last succeeded
  // Semi-sync: the highest seq a replica of each region has applied.
  const acked = new Map<string, number>()
  let leaseUntil = 0 // on our clock: we may take writes until then
  const waiting = new Set<() => void>() // long polls waiting for new entries
  let pulling = false // one pull loop per node, however often it follows
  let lastError: string | undefined
  let logged: string | undefined
  let failingSince = 0

  // A primary that restarts asks its peers whether one of them took over.
  if (role === 'primary') {
    const newer = await newerPrimary(options.peers ?? [], epoch, auth)
    if (newer) {
      log(
        `a newer primary leads (epoch ${newer.epoch}): following ${newer.url}`,
      )
      become('replica', newer.epoch, newer.url)
    }
  }
  store.remember({ role, epoch, primaryUrl: primaryUrl ?? '' })

  function become(next: Role, nextEpoch: number, nextPrimary: string | null) {
    const wasReplica = role === 'replica'
    if (next === 'primary') acked.clear() // acks from before meant another log
    role = next
    epoch = nextEpoch
    primaryUrl = nextPrimary
    store.remember({ role, epoch, primaryUrl: primaryUrl ?? '' })
    if (role === 'replica' && !wasReplica) void pullLoop()
  }

  function status(): ReplicationStatus {
    const appliedSeq = store.position().seq
    const lagEntries =
      role === 'primary' ? 0 : Math.max(0, headSeq - appliedSeq)
    const lagMs =
      lagEntries > 0 && oldestUnapplied ? Date.now() - oldestUnapplied : 0
    return {
      role,
      epoch,
      primaryUrl,
      primary: primaryName,
      leased: role === 'primary' && Date.now() < leaseUntil,
      connected: role === 'replica' && Date.now() - pulledAt < 5000,
      appliedSeq,
      headSeq,
      lagEntries,
      lagMs,
      paused,
    }
  }

  async function write(
    run: () => number,
    sql: string,
    params: unknown,
    writeEpoch: number,
  ) {
    if (role !== 'primary') {
      throw new HttpError(
        409,
        'read_only',
        'This node is a replica; send writes to the primary',
      )
    }
    if (writeEpoch > epoch) {
      // Someone knows of a newer epoch than ours: we were replaced. Stop.
      become('replica', writeEpoch, null)
      log(`fenced: a write carried epoch ${writeEpoch}, ours was older`)
    }
    if (writeEpoch !== epoch) {
      throw new HttpError(
        409,
        'stale_epoch',
        `This write carries epoch ${writeEpoch}; the current epoch is ${epoch}`,
      )
    }
    // Cut off from the witness, we may have been replaced without knowing.
    if (options.witnessUrl && Date.now() >= leaseUntil) {
      throw new HttpError(
        503,
        'no_lease',
        'This primary holds no lease from the witness; try again shortly',
      )
    }
    const entry = {
      epoch,
      sql,
      params: JSON.stringify(params),
      createdAt: Date.now(),
    }
    const result = store.write(run, entry)
    headSeq = result.seq
    for (const wake of waiting) wake()
    if (options.ackMode === 'semi-sync' && result.changes > 0)
      await awaitReplica(result.seq)
    return result
  }

  async function awaitReplica(seq: number) {
    try {
      await waitFor(
        `a replica to apply seq ${seq}`,
        () =>
          [...acked].some(
            ([region, applied]) =>
              applied >= seq && (!options.region || region !== options.region),
          ),
        { timeoutMs: options.semiSyncTimeoutMs ?? 500, intervalMs: 5 },
      )
    } catch {
      // MySQL's fallback: acknowledge anyway rather than stop taking writes.
      log(
        `semi-sync: no replica applied seq ${seq} in time; acknowledged asynchronously`,
      )
    }
  }

  async function pullLoop() {
    if (pulling) return
    pulling = true
    while (!stopped.signal.aborted && role === 'replica') {
      try {
        if (!primaryUrl) throw new Error('no primary known yet')
        await pullOnce(primaryUrl)
      } catch (error: unknown) {
        // The primary is away, or an entry would not apply: say so once,
        // if it lasts (at start-up the primary may just not listen yet).
        const message = (error as Error).message
        if (message !== lastError) failingSince = Date.now()
        if (message !== logged && Date.now() - failingSince >= 1000) {
          log(`cannot pull from ${primaryUrl}: ${message}`)
          logged = message
        }
        lastError = message
        await delay(options.pullIntervalMs ?? 100)
        continue
      }
      lastError = logged = undefined
      if (paused) await delay(options.pullIntervalMs ?? 100)
    }
    pulling = false
  }

  async function pullOnce(from: string) {
    const { seq, epoch: at } = store.position()
    const region = encodeURIComponent(options.region ?? '')
    const url = `${from}/replication/log?after=${seq}&epoch=${at}&waitMs=${paused ? 0 : 1000}&region=${region}`
    const reply = await httpCall(url, { headers: auth, signal: deadline(3000) })
    if (role !== 'replica') return // promoted while we waited: not ours now
    if (reply.status === 409) return resync(from)
    if (!reply.ok) throw new Error(`log request failed: ${reply.status}`)
    const body = (await reply.json()) as {
      entries: LogEntry[]
      headSeq: number
    }
    headSeq = body.headSeq
    pulledAt = Date.now()
    oldestUnapplied = body.entries[0]?.createdAt ?? oldestUnapplied
    if (paused) return
    for (const entry of body.entries) store.apply(entry)
    if (body.entries.length > 0) for (const wake of waiting) wake()
    oldestUnapplied = undefined
  }

  // Our log and the primary's disagree (we were a primary whose last writes
  // never reached the others): start again from a copy of the primary.
  async function resync(from: string) {
    const reply = await httpCall(`${from}/replication/snapshot`, {
      headers: auth,
      signal: deadline(10_000),
    })
    if (!reply.ok) throw new Error(`snapshot failed: ${reply.status}`)
    const snapshot = (await reply.json()) as Snapshot
    const ours = store.position()
    store.restore(snapshot)
    // Whatever we had past the last entry both logs share is gone now.
    log(
      `resynced from ${from} at seq ${snapshot.position.seq} (epoch ${snapshot.position.epoch}); ` +
        `ours was seq ${ours.seq} (epoch ${ours.epoch})`,
    )
  }

  const router = express.Router()
  router.get('/status', (req, res) => {
    res.json(status())
  })
  router.get('/log', async (req, res) => {
    const position: Position = {
      seq: Number(req.query.after ?? 0),
      epoch: Number(req.query.epoch ?? 0),
    }
    if (!store.agrees(position))
      throw new HttpError(409, 'diverged', 'Your log differs from mine: resync')
    const from = String(req.query.region ?? '')
    acked.set(from, Math.max(acked.get(from) ?? 0, position.seq))
    const waitMs = Math.min(Number(req.query.waitMs ?? 0), 5000)
    if (store.position().seq === position.seq && waitMs > 0)
      await nextEntry(waitMs)
    res.json({
      entries: store.entriesAfter(position.seq),
      headSeq: store.position().seq,
      epoch,
    })
  })
  router.get('/snapshot', (req, res) => {
    res.json(store.snapshot())
  })
  router.post('/promote', express.json(), (req, res) => {
    const next = Number(req.body?.epoch)
    // The same promotion again (its first answer was lost): already done.
    if (role === 'primary' && next === epoch) return void res.json(status())
    if (!(next > epoch))
      throw badRequest('invalid_epoch', `epoch must be greater than ${epoch}`)
    become('primary', next, null)
    log(`promoted to primary (epoch ${next})`)
    res.json(status())
  })
  router.post('/follow', express.json(), (req, res) => {
    const { primary: name, epoch: nextEpoch } = req.body ?? {}
    // Each node reaches the primary its own way: by name, from its address book.
    const next =
      (typeof name === 'string' && options.addresses?.[name]) ||
      req.body?.primaryUrl
    if (typeof next !== 'string' || !(Number(nextEpoch) >= epoch)) {
      throw badRequest(
        'invalid_follow',
        `Send { primaryUrl, epoch >= ${epoch} }`,
      )
    }
    if (role === 'primary')
      log(`demoted: following ${next} (epoch ${nextEpoch})`)
    become('replica', Number(nextEpoch), next)
    primaryName = typeof name === 'string' ? name : null
    res.json(status())
  })
  router.post('/pause', (req, res) => {
    paused = true
    res.json(status())
  })
  router.post('/resume', (req, res) => {
    paused = false
    res.json(status())
  })

  // What this node has applied, for those who follow its changes (each
  // region's app servers drop cached copies from here; see log-invalidation).
  router.get('/changes', async (req, res) => {
    const after = Number(req.query.after ?? 0)
    const waitMs = Math.min(Number(req.query.waitMs ?? 0), 5000)
    if (store.position().seq <= after && waitMs > 0) await nextEntry(waitMs)
    res.json({
      entries: store.entriesAfter(after),
      headSeq: store.position().seq,
    })
  })

  // The primary renews its lease from the witness, counting from before it
  // asked: its lease always ends before the witness's view of it does.
  async function leaseLoop() {
    while (!stopped.signal.aborted) {
      if (role === 'primary' && options.witnessUrl) {
        const askedAt = Date.now()
        try {
          const reply = await httpCall(`${options.witnessUrl}/lease`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: options.name, epoch }),
            signal: deadline(1000),
          })
          if (reply.ok)
            leaseUntil =
              askedAt + ((await reply.json()) as { leaseMs: number }).leaseMs
        } catch {
          // No answer: the lease runs out on its own.
        }
      }
      await delay(200)
    }
  }

  // A deadline for one call, which close() also ends. Not AbortSignal.any
  // of the two: Node 20 may garbage-collect such a combined signal while a
  // call waits on it, and the call then waits forever. `calls` holds this
  // controller until its timer fires or close() aborts it.
  function deadline(ms: number): AbortSignal {
    const controller = new AbortController()
    calls.add(controller)
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer in ${ms} ms`)),
      ms,
    )
    controller.signal.addEventListener('abort', () => {
      clearTimeout(timer)
      calls.delete(controller)
    })
    return controller.signal
  }

  function nextEntry(waitMs: number) {
    return new Promise<void>((resolve) => {
      const wake = () => {
        waiting.delete(wake)
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(wake, waitMs)
      waiting.add(wake)
    })
  }

  if (role === 'replica') void pullLoop()
  void leaseLoop()
  return {
    router,
    status,
    write,
    log: store,
    close() {
      stopped.abort()
      for (const controller of calls) controller.abort()
      for (const wake of waiting) wake()
    },
  }
}

async function newerPrimary(
  peers: string[],
  epoch: number,
  headers: Record<string, string>,
) {
  const statuses = await Promise.all(
    peers.map(async (url) => {
      try {
        const reply = await httpCall(`${url}/replication/status`, {
          headers,
          signal: AbortSignal.timeout(3000),
        })
        return { url, ...((await reply.json()) as ReplicationStatus) }
      } catch {
        return undefined // unreachable: it cannot tell us anything
      }
    }),
  )
  return statuses
    .filter((s) => s && s.role === 'primary' && s.epoch > epoch)
    .sort((a, b) => b!.epoch - a!.epoch)[0]
}

export type Replication = Awaited<ReturnType<typeof startReplication>>
