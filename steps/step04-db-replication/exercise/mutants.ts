// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'the read pool keeps a replica the monitor cannot reach',
    hint: 'Hint 1: the read pool',
    replace: `(r) => r.reachable && r.lagMs <= maxLagMs`,
    with: `(r) => r.lagMs <= maxLagMs`,
  },
  {
    name: 'the read pool keeps a replica however far it lags',
    hint: 'Hint 1: the read pool',
    replace: `(r) => r.reachable && r.lagMs <= maxLagMs`,
    with: `(r) => r.reachable`,
  },
  {
    name: 'every read goes to the primary: the read pool is always empty',
    hint: 'Hint 1: the read pool',
    replace: `    return nodes
      .topology()
      .replicas.filter((r) => r.reachable && r.lagMs <= maxLagMs)`,
    with: `    return []`,
  },
  {
    name: 'the turns go over every replica of the topology, not the read pool',
    hint: 'Hint 1: the read pool',
    replace: `    const replica = pool[turn++ % pool.length]!`,
    with: `    const all = nodes.topology().replicas
    const replica = all[turn++ % all.length]!`,
  },
  {
    name: 'the turn never advances: one replica takes every read',
    hint: 'Hint 2: read-your-writes',
    replace: `pool[turn++ % pool.length]!`,
    with: `pool[turn % pool.length]!`,
  },
  {
    name: "a read does not wait for the client's seq",
    hint: 'Hint 2: read-your-writes',
    replace: `    while (
      minSeq > 0 &&
      (await nodes.appliedSeq(replica).catch(() => 0)) < minSeq
    ) {
      if (Date.now() >= deadline) return undefined
      await delay(5)
    }
`,
    with: ``,
  },
  {
    name: "the replica's seq is checked once, with if instead of while",
    hint: 'Hint 2: read-your-writes',
    replace: `    while (
      minSeq > 0 &&`,
    with: `    if (
      minSeq > 0 &&`,
  },
  {
    name: 'a read waits for the replica without a deadline',
    hint: 'Hint 2: read-your-writes',
    replace: `      if (Date.now() >= deadline) return undefined
`,
    with: ``,
  },
  {
    name: 'when the wait runs out, the read goes to the lagging replica anyway',
    hint: 'Hint 2: read-your-writes',
    replace: `if (Date.now() >= deadline) return undefined`,
    with: `if (Date.now() >= deadline) break`,
  },
  {
    name: 'a replica that does not answer its seq lets the error through (a 500)',
    hint: 'Hint 2: read-your-writes',
    replace: `(await nodes.appliedSeq(replica).catch(() => 0)) < minSeq`,
    with: `(await nodes.appliedSeq(replica)) < minSeq`,
  },
  {
    name: 'a replica\'s "not found" is trusted: 404 without asking the primary',
    hint: 'Hint 3: a miss is not proof',
    replace: `      metrics.count('db.reads.replica_miss')`,
    with: `      return undefined`,
  },
  {
    name: 'X-DB names the replica even when the primary answered',
    hint: 'Hint 3: a miss is not proof',
    replace: `      if (link) {
        answeredBy(
          \`replica \${replica.name}; lag=\${replica.lagEntries}; lag-ms=\${replica.lagMs}\`,
        )`,
    with: `      answeredBy(
        \`replica \${replica.name}; lag=\${replica.lagEntries}; lag-ms=\${replica.lagMs}\`,
      )
      if (link) {`,
  },
]
