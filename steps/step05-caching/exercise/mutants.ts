// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  // Hint 1: invalidate()
  {
    name: 'publishes the invalidation without waiting for the acknowledgements',
    hint: 'Hint 1: invalidation',
    replace: `    await invalidation?.publish(code)`,
    with: `    void invalidation?.publish(code)`,
  },
  {
    name: 'never publishes, so the other app servers keep their copies',
    hint: 'Hint 1: invalidation',
    replace: `    await invalidation?.publish(code)`,
    with: ``,
  },
  {
    name: 'publishes after a delete, but not after a create',
    hint: 'Hint 1: invalidation',
    replace: `    if (created) await l2.put(created)
    else await l2.invalidate(code)
    await invalidation?.publish(code)`,
    with: `    if (created) await l2.put(created)
    else {
      await l2.invalidate(code)
      await invalidation?.publish(code)
    }`,
  },
  {
    name: 'leaves its own L1 copy to the message, which does not come while Redis is down',
    hint: 'Hint 1: invalidation',
    replace: `    l1.delete(code)
    if (created)`,
    with: `    if (created)`,
  },
  {
    name: 'invalidates a new link in Redis instead of writing it there',
    hint: 'Hint 1: invalidation',
    replace: `    if (created) await l2.put(created)
    else await l2.invalidate(code)`,
    with: `    await l2.invalidate(code)`,
  },
  // Hint 2: find()
  {
    name: 'asks l1.has() after fetch(), so every answer says HIT-L1',
    hint: 'Hint 2: L1 and coalescing',
    replace: `    const layer = hit ? 'HIT-L1' : entry!.from`,
    with: `    const layer = hit || l1.has(code) ? 'HIT-L1' : entry!.from`,
  },
  {
    name: 'never says HIT-L1: an L1 hit reports the layer of its first load',
    hint: 'Hint 2: L1 and coalescing',
    replace: `    const layer = hit ? 'HIT-L1' : entry!.from`,
    with: `    const layer = entry!.from`,
  },
  {
    name: 'gives up when an invalidation aborts the load, instead of fetching once more',
    hint: 'Hint 2: L1 and coalescing',
    replace: `    const entry = await l1.fetch(code).catch((error: unknown) => {
      if (error instanceof HttpError || error instanceof DbError) throw error
      return l1.fetch(code).catch(async (again: unknown) => {`,
    with: `    const entry = await l1.fetch(code).then((entry) => {
      return Promise.resolve(entry).catch(async (again: unknown) => {`,
  },
  {
    name: 'fetches once more after any failure, a failed database load too',
    hint: 'Hint 2: L1 and coalescing',
    replace: `      if (error instanceof HttpError || error instanceof DbError) throw error
      return l1.fetch(code).catch(`,
    with: `      void error
      return l1.fetch(code).catch(`,
  },
  {
    name: 'keeps a copy that Redis refused in L1, and serves it again',
    hint: 'Hint 2: L1 and coalescing',
    replace: `    if (!entry!.kept && l1.peek(code) === entry) l1.delete(code)\n`,
    with: ``,
  },
  // Hint 3: fetchMethod
  {
    name: 'counts a database load for every L1 miss, Redis hits too',
    hint: 'Hint 3: L2, TTLs and absence',
    replace: `      const { value, from, kept } = await l2.load(code, () => {
        metrics.count('cache.db_loads')
        return inner.find(code)
      })`,
    with: `      metrics.count('cache.db_loads')
      const { value, from, kept } = await l2.load(code, () => inner.find(code))`,
  },
  {
    name: 'does not remember unknown codes: returns nothing for them',
    hint: 'Hint 3: L2, TTLs and absence',
    replace: `      return { link: value, from, kept }`,
    with: `      return value === null ? undefined : { link: value, from, kept }`,
  },
  {
    name: 'keeps a link in L1 for the full L1 TTL, past its expiry',
    hint: 'Hint 3: L2, TTLs and absence',
    replace: `      options.ttl = kept ? Math.max(1, l2.ttlFor(value, l1TtlMs)) : 1`,
    with: `      options.ttl = kept ? l1TtlMs : 1`,
  },
]
