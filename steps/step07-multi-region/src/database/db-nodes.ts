// The app server's view of the database nodes: the topology the monitor
// publishes (who is primary, at which epoch; each replica's lag), a store
// per node, and a fresh look at how far one replica has applied the log.
// Seen from one region: only its own replicas serve reads, and every node is
// reached the way this region reaches it (the primary across the WAN).
import { createDbClient } from './db-client'
import { createDbStore } from './db-store'
import type { LinkStore } from '../app/link-store'
import type { DbNode, Topology } from './monitor'
import { currentContext } from '../app/request-context'
import { waitFor } from '../../../../shared/wait-for'
import { httpCall } from '../common/http-call'

export interface DbNodesOptions {
  monitorUrl: string
  token: string
  timeoutMs?: number
  intervalMs?: number
  /** This app server's region: it reads from that region's replicas. */
  region?: string
  /** How this region reaches each node, by name. */
  addresses?: Record<string, string>
}

export async function watchDbNodes({
  monitorUrl,
  token,
  timeoutMs,
  intervalMs = 500,
  region,
  addresses = {},
}: DbNodesOptions) {
  const headers = { Authorization: `Bearer ${token}` }
  const stores = new Map<string, LinkStore>()
  const fetchTopology = async () => {
    const reply = await httpCall(`${monitorUrl}/topology`, {
      headers,
      signal: AbortSignal.timeout(1000),
    })
    if (!reply.ok) throw new Error(`monitor answered ${reply.status}`)
    return fromHere((await reply.json()) as Topology)
  }
  const here = <N extends DbNode>(node: N): N => ({
    ...node,
    url: addresses[node.name] ?? node.url,
  })
  const fromHere = (topology: Topology): Topology => ({
    ...topology,
    primary: here(topology.primary),
    replicas: topology.replicas
      .filter((replica) => !region || replica.region === region)
      .map(here),
  })
  let topology = await waitFor(
    'the monitor to publish the topology',
    fetchTopology,
  )
  const refresh = async () => {
    topology = await fetchTopology().catch(() => topology) // keep the last view
    return topology
  }
  const timer = setInterval(() => void refresh(), intervalMs)

  return {
    topology: () => topology,
    refresh,
    /** A store over one node; writes through it carry `epoch` and record their seq. */
    storeFor(node: DbNode, epoch?: number): LinkStore {
      const key = `${node.url} ${epoch ?? 'read'}`
      let store = stores.get(key)
      if (!store) {
        const client = createDbClient({
          url: node.url,
          token,
          timeoutMs,
          headers: epoch ? { 'X-Epoch': String(epoch) } : {},
        })
        const execute = client.execute
        client.execute = async (sql, params) => {
          const result = (await execute(sql, params)) as {
            changes: number
            seq?: number
          }
          const context = currentContext()
          if (context && result.seq)
            context.wroteSeq = Math.max(context.wroteSeq, result.seq)
          return result
        }
        store = createDbStore(client)
        stores.set(key, store)
      }
      return store
    },
    /** A client's seq, but never past the primary's newest: a forged huge
     * seq must not make every read of that client wait and poll. */
    async capSeq(seq: number): Promise<number> {
      if (seq <= topology.headSeq) return seq
      // The topology may just be older than the client's write: ask. If the
      // primary does not answer, the newest head we saw is all we can vouch for.
      const head = await this.appliedSeq(topology.primary).catch(
        () => topology.headSeq,
      )
      return Math.min(seq, Math.max(head, topology.headSeq))
    },
    async appliedSeq(node: DbNode): Promise<number> {
      const reply = await httpCall(`${node.url}/replication/status`, {
        headers,
        signal: AbortSignal.timeout(500),
      })
      return ((await reply.json()) as { appliedSeq: number }).appliedSeq
    },
    async close() {
      clearInterval(timer)
      await Promise.all([...stores.values()].map((store) => store.close()))
    },
  }
}

export type DbNodes = Awaited<ReturnType<typeof watchDbNodes>>
