// The sharded store: links spread over several shards, each a replicated
// database group of its own (a primary in asia, a replica in each region),
// all behind the one LinkStore the routes know. A code's owner comes from
// the shard map, which the witness keeps and this store follows. Writes go
// to the owner's primary, reads to the owner's replicas, as in step 7, one
// shard at a time. While a move is on (the map has `previous`), a read that
// misses on the new owner asks the old one, a create checks the old owner
// first (an alias is unique because it has one owner), and a delete makes
// the new owner's copy if the move has not, then marks both. The clicks
// live apart, in the analytics database (a vertical split): only the
// details page reads them.
import { randomUUID } from 'node:crypto'
import { GiveUp, waitFor } from '../../../../shared/wait-for'
import { HttpError } from '../common/http-error'
import type { Metrics } from '../common/metrics'
import { CodeTakenError, type Link, type LinkStore } from '../app/link-store'
import { currentContext, inShard } from '../app/request-context'
import { createDbClient, DbError, type DbClient } from '../database/db-client'
import { watchDbNodes, type DbNodes } from '../database/db-nodes'
import { createReplicatedStore } from '../database/replicated-store'
import {
  routerFor,
  shardMapProblem,
  type Router,
  type ShardMap,
} from './shard-map'
import { httpCall } from '../common/http-call'

export interface ShardedStoreOptions {
  /** The witness, as this region reaches it: shard map and topologies. */
  witnessUrl: string
  token: string
  region: string
  /** How this region reaches each database node, by name. */
  addresses: Record<string, string>
  timeoutMs?: number
  /** How often each shard's topology is read from the witness. */
  intervalMs?: number
  /** How often the shard map is; a refused request reads it at once. */
  mapIntervalMs?: number
  maxLagMs: number
  readWaitMs: number
  metrics: Metrics
}

export interface Shard {
  name: string
  nodes: DbNodes
  store: LinkStore
}

export async function createShardedStore(options: ShardedStoreOptions) {
  const { witnessUrl, token, metrics, intervalMs = 500 } = options
  const headers = { Authorization: `Bearer ${token}` }
  const fetchMap = async () => {
    const reply = await httpCall(`${witnessUrl}/shard-map`, {
      headers,
      signal: AbortSignal.timeout(1000),
    })
    if (!reply.ok) throw new Error(`the witness answered ${reply.status}`)
    const map: unknown = await reply.json()
    // Never routed by: a map that is not one fails the app server's start
    // (and is not taken later), with what is wrong with it.
    const problem = shardMapProblem(map)
    if (problem)
      throw new GiveUp(
        `The witness's shard map is not valid: ${problem} (a new system makes it from SystemOptions.shards, scheme and vnodes)`,
      )
    return map as ShardMap
  }

  // One group's nodes as the witness sees them, reached from this region.
  const watchNodes = (group: string, shardEpoch?: () => number) =>
    watchDbNodes({
      monitorUrl: `${witnessUrl}/groups/${group}`,
      token,
      timeoutMs: options.timeoutMs,
      intervalMs,
      region: options.region,
      addresses: options.addresses,
      shardEpoch,
    })

  let map = await waitFor('the witness to publish the shard map', fetchMap)
  let router: Router = routerFor(map)
  const shards = new Map<string, Promise<Shard>>()
  const group = (name: string) => {
    let shard = shards.get(name)
    if (!shard) {
      shard = watchGroup(name)
      shards.set(name, shard)
      shard.catch(() => shards.delete(name)) // try again next time
    }
    return shard
  }
  async function watchGroup(name: string): Promise<Shard> {
    const nodes = await watchNodes(name, () => map.epoch)
    const store = createReplicatedStore({
      nodes,
      maxLagMs: options.maxLagMs,
      readWaitMs: options.readWaitMs,
      metrics,
    })
    return { name, nodes, store }
  }
  const inMap = (m: ShardMap) =>
    [...m.shards, ...(m.previous ?? [])].map((shard) => shard.name)
  await Promise.all(inMap(map).map(group))

  // A newer map replaces ours only once we can reach all of its shards.
  let refreshing: Promise<void> | undefined
  const refresh = () =>
    (refreshing ??= (async () => {
      try {
        const next = await fetchMap()
        if (next.epoch <= map.epoch) return
        await Promise.all(inMap(next).map(group))
        map = next
        router = routerFor(next)
        // A shard that left the map is no longer watched.
        for (const [name, shard] of shards)
          if (!inMap(next).includes(name)) {
            shards.delete(name)
            void shard.then((gone) => gone.nodes.close()).catch(() => {})
          }
      } finally {
        refreshing = undefined
      }
    })())
  const timer = setInterval(
    () => void refresh().catch(() => {}),
    options.mapIntervalMs ?? 1000,
  )

  // A node that knows a newer map refused ours: nothing was done. Learn the
  // new map (a read that starts now, not one already on its way) and run the
  // whole operation again, by the new owners. A move bumps the epoch twice
  // in quick succession, so a request may be refused twice.
  async function withMap<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const epoch = map.epoch
      try {
        return await work()
      } catch (error: unknown) {
        // A shard that does not answer may just have left the map (its
        // nodes stop after a move): worth a look at the map, once.
        if (unavailable(error) && attempt === 1) {
          await refreshing?.catch(() => {})
          await refresh().catch(() => {})
          if (map.epoch > epoch) continue
          throw error
        }
        if (!staleMap(error)) throw error
        metrics.count('shard.stale_maps')
        if (attempt === 3)
          throw new HttpError(
            503,
            'shard_map_changing',
            'The shards are being rearranged; try again shortly',
          )
        await refreshing?.catch(() => {})
        await refresh().catch(() => {})
      }
    }
  }

  const on = async <T>(
    name: string,
    work: (store: LinkStore) => Promise<T>,
  ) => {
    const shard = await group(name)
    return inShard(name, () => work(shard.store))
  }

  // The analytics database: one group of its own, apart from the links.
  const analytics = await watchNodes('analytics')
  const clients = new Map<string, DbClient>()
  const analyticsPrimary = () => {
    const { primary, epoch } = analytics.topology()
    const key = `${primary.url} ${epoch}`
    let client = clients.get(key)
    if (!client) {
      client = createDbClient({
        url: primary.url,
        token,
        timeoutMs: options.timeoutMs,
        headers: { 'X-Epoch': String(epoch) },
      })
      clients.set(key, client)
    }
    return client
  }
  async function clicksOf(code: string): Promise<number> {
    const [row] = await analyticsPrimary().query<{ clicks: number }>(
      'SELECT clicks FROM click_counts WHERE code = ?',
      [code],
    )
    return row?.clicks ?? 0
  }

  async function find(code: string, options?: { fresh?: boolean }) {
    const link = await withMap(async () => {
      const owner = router.owner(code)
      metrics.count(`shard.${owner}.reads`)
      const found = await on(owner, (store) => store.find(code))
      const before = router.previousOwner(code)
      if (found || !before) return found
      // Not copied yet: still where it was.
      metrics.count('shard.reads_from_previous')
      return on(before, (store) => store.find(code))
    })
    if (!link || !options?.fresh) return link
    return { ...link, clicks: await clicksOf(code) } satisfies Link
  }

  // A link's row on its new owner before the move's copy gets there, made
  // as a create makes it. The move copies with INSERT OR IGNORE, so it
  // leaves this row (and the mark a delete puts on it) as it is; a copy
  // already made is left as it is too.
  async function copyAhead(from: string, to: string, code: string) {
    const link = await on(from, (store) => store.find(code))
    if (!link) return
    const { url, createdAt, expiresAt, deleteTokenHash } = link
    const row = { code, url, createdAt, expiresAt, deleteTokenHash }
    await on(to, (store) => store.insert(row)).catch((error: unknown) => {
      if (!(error instanceof CodeTakenError)) throw error
    })
  }

  const store: LinkStore = {
    find,
    insert: (link) =>
      withMap(async () => {
        const owner = router.owner(link.code)
        const before = router.previousOwner(link.code)
        // Moving: the code may still live on its old owner only.
        if (before && (await on(before, (store) => store.find(link.code))))
          throw new CodeTakenError(link.code)
        metrics.count(`shard.${owner}.writes`)
        await on(owner, (store) => store.insert(link))
      }),
    markDeleted: (code, at) =>
      withMap(async () => {
        const owner = router.owner(code)
        const before = router.previousOwner(code)
        // Moving: the move may have read the live row and not copied it
        // yet; its copy would bring the link back. Make the copy first,
        // then mark both with the statement of every delete, which each
        // region's caches follow in the log. The new owner last: its
        // answer is the one that counts from now on.
        if (before) {
          await copyAhead(before, owner, code)
          await on(before, (store) => store.markDeleted(code, at))
        }
        metrics.count(`shard.${owner}.writes`)
        await on(owner, (store) => store.markDeleted(code, at))
      }),
    // A click recorded directly (the worker's way is a batch of events).
    recordClick: async (code) => {
      await analyticsPrimary().execute(
        'INSERT OR IGNORE INTO click_events (event_id, code, at) VALUES (?, ?, ?)',
        [randomUUID(), code, Date.now()],
      )
    },
    close: async () => {
      clearInterval(timer)
      await refreshing?.catch(() => {})
      const all = await Promise.allSettled(shards.values())
      for (const shard of all)
        if (shard.status === 'fulfilled') await shard.value.nodes.close()
      await analytics.close()
      for (const client of clients.values()) client.close()
    },
  }

  return {
    store,
    map: () => map,
    /** The shards of the current map, as this store reaches them. */
    shards: () => Promise.all(map.shards.map((shard) => group(shard.name))),
    /** Links per shard and in all: one question to every shard, in parallel
     * (a scatter-gather), answered by each one's primary. */
    async countLinks() {
      const started = performance.now()
      const counts = await withMap(() =>
        Promise.all(
          map.shards.map(async ({ name }) => {
            const shard = await group(name)
            const { primary, epoch } = shard.nodes.topology()
            const client = createDbClient({
              url: primary.url,
              token,
              timeoutMs: options.timeoutMs,
              headers: {
                'X-Epoch': String(epoch),
                'X-Shard-Epoch': String(map.epoch),
              },
            })
            try {
              const [row] = await client.query<{ n: number }>(
                'SELECT COUNT(*) AS n FROM links WHERE deleted_at IS NULL',
              )
              return [name, row?.n ?? 0] as const
            } finally {
              client.close()
            }
          }),
        ),
      )
      // Every shard answered a part: X-Shard names them all.
      const context = currentContext()
      if (context) context.shard = counts.map(([name]) => name).join(', ')
      return {
        epoch: map.epoch,
        links: counts.reduce((sum, [, n]) => sum + n, 0),
        perShard: Object.fromEntries(counts),
        tookMs: Math.round(performance.now() - started),
      }
    },
  }
}

export type ShardedStore = Awaited<ReturnType<typeof createShardedStore>>

const unavailable = (error: unknown) =>
  error instanceof HttpError && error.status === 503

const staleMap = (error: unknown) =>
  error instanceof DbError && error.code === 'stale_shard_map'
