// The read/write router: writes go to the primary, reads to the replicas in
// turn, so the primary spends its time on writes. Replicas lag, so a read
// must not go back in time for the client who just wrote: it waits (briefly)
// for a replica that has applied the client's last write, or reads the
// primary. A replica that lags too far leaves the read pool altogether,
// and comes back (labelled) only when the primary cannot be reached.
import type { DbNodes } from './db-nodes'
import { DbError } from './db-client'
import { HttpError } from '../common/http-error'
import type { Link, LinkStore } from '../app/link-store'
import type { Metrics } from '../common/metrics'
import type { Topology } from './monitor'
import { apart, currentContext } from '../app/request-context'
import { delay } from '../../../../shared/wait-for'

type Replica = Topology['replicas'][number]

export interface ReplicatedStoreOptions {
  nodes: Pick<
    DbNodes,
    'topology' | 'refresh' | 'storeFor' | 'appliedSeq' | 'capSeq'
  >
  /** A replica further behind than this leaves the read pool. */
  maxLagMs: number
  /** How long a read may wait for a replica to catch up with the client. */
  readWaitMs: number
  metrics: Metrics
}

export function createReplicatedStore({
  nodes,
  maxLagMs,
  readWaitMs,
  metrics,
}: ReplicatedStoreOptions): LinkStore {
  let turn = 0

  /** The replicas that may serve reads now, in a stable order. */
  function readPool(): Replica[] {
    return nodes
      .topology()
      .replicas.filter((r) => r.reachable && r.lagMs <= maxLagMs)
  }

  /** The next replica in turn that has applied `minSeq`, or undefined. */
  async function replicaFor(minSeq: number): Promise<Replica | undefined> {
    const pool = readPool()
    if (pool.length === 0) return undefined
    const replica = pool[turn++ % pool.length]!
    // Trade-off: waiting costs latency; reading the primary costs its time.
    const deadline = Date.now() + readWaitMs
    while (
      minSeq > 0 &&
      (await nodes.appliedSeq(replica).catch(() => 0)) < minSeq
    ) {
      if (Date.now() >= deadline) return undefined
      await delay(5)
    }
    return replica
  }

  async function find(code: string): Promise<Link | undefined> {
    // Never past what the primary has: a forged seq must not make reads wait.
    const minSeq = await nodes.capSeq(currentContext()?.minSeq ?? 0)
    const replica = await replicaFor(minSeq)
    if (replica) {
      // A replica that does not answer is just a miss: the primary follows.
      const link = await nodes
        .storeFor(replica)
        .find(code)
        .catch(unlessUnavailable)
      // A replica's "not found" may only mean it has not applied the insert
      // yet: before answering 404, ask the one node that knows.
      if (link) {
        answeredBy(replicaLabel(replica))
        metrics.count('db.reads.replica')
        return link
      }
      metrics.count('db.reads.replica_miss')
    }
    answeredBy(`primary ${nodes.topology().primary.name}`)
    metrics.count('db.reads.primary')
    return readPrimary(code).catch((error: unknown) => {
      if (!unavailable(error)) throw error
      return readLagging(code, minSeq, error)
    })
  }

  // Cut off from the primary (a partition, or a region lost before the
  // witness promotes): a replica that left the pool for its lag still knows
  // more than an error does, and the answer says how stale it may be.
  // Never one that lacks the client's own last write.
  async function readLagging(code: string, minSeq: number, error: unknown) {
    for (const replica of nodes.topology().replicas) {
      if (!replica.reachable || replica.lagMs <= maxLagMs) continue
      if (
        minSeq > 0 &&
        (await nodes.appliedSeq(replica).catch(() => 0)) < minSeq
      )
        continue
      const link = await nodes
        .storeFor(replica)
        .find(code)
        .catch(unlessUnavailable)
      if (!link) continue // it may not have the link yet: only the primary knows
      // It answers after all: its name replaces the primary's.
      answeredBy(`${replicaLabel(replica)}; primary unreachable`, true)
      metrics.count('db.reads.lagging_replica')
      return link
    }
    throw error
  }

  // A read is safe to repeat: when the primary does not answer, ask the
  // monitor whether a new one was promoted, and read there.
  async function readPrimary(code: string) {
    const before = nodes.topology().primary.url
    try {
      return await primary().find(code)
    } catch (error: unknown) {
      if (!unavailable(error) || (await nodes.refresh()).primary.url === before)
        throw error
      return primary().find(code)
    }
  }

  const primary = () =>
    nodes.storeFor(nodes.topology().primary, nodes.topology().epoch)

  // A write the primary refused (we wrote to a replica, or with an old epoch)
  // was not applied: learn the new topology and send it once more.
  async function write(run: (store: LinkStore) => Promise<void>) {
    answeredBy(`primary ${nodes.topology().primary.name}`)
    try {
      await run(primary())
    } catch (error: unknown) {
      // Unanswered, it may have been applied: learn the new topology for the
      // next request, but never send the same write twice.
      if (unavailable(error)) void nodes.refresh()
      if (!refused(error)) throw error
      await nodes.refresh()
      await run(primary()).catch((again: unknown) => {
        if (!refused(again)) throw again
        throw new HttpError(
          503,
          'database_unavailable',
          'No primary takes writes right now; try again shortly',
        )
      })
    }
  }

  return {
    find,
    insert: (link) => write((store) => store.insert(link)),
    // A click is our bookkeeping: it sets no seq for the client to wait on.
    recordClick: (code) =>
      apart(() => write((store) => store.recordClick(code))),
    markDeleted: (code, at) => write((store) => store.markDeleted(code, at)),
    close: async () => {},
  }
}

// The node said no before doing anything: it is not (or no longer) the primary.
const refused = (error: unknown) =>
  error instanceof DbError && ['read_only', 'stale_epoch'].includes(error.code)

const unlessUnavailable = (error: unknown): undefined => {
  if (unavailable(error)) return undefined
  throw error
}

const unavailable = (error: unknown) =>
  error instanceof HttpError && error.status === 503

// X-DB names the node of the request's first database call: for a redirect,
// the lookup, not the click count written after it.
function answeredBy(db: string, replacing = false) {
  const context = currentContext()
  if (context && (replacing || !context.db)) context.db = db
}

const replicaLabel = (replica: Replica) =>
  `replica ${replica.name}; lag=${replica.lagEntries}; lag-ms=${replica.lagMs}`
