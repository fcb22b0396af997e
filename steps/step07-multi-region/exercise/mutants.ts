// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'every ranked region counts as healthy: the health checks are ignored',
    hint: 'Hint 1: nearest healthy region',
    replace: `const healthy = ranked.filter((region) => region.up)`,
    with: `const healthy = ranked`,
  },
  {
    name: "the healthy regions come from `regions`, in the configured order, not the client's",
    hint: 'Hint 1: nearest healthy region',
    replace: `const healthy = ranked.filter((region) => region.up)`,
    with: `const healthy = regions.filter((region) => region.up)`,
  },
  {
    name: "the healthy regions follow the client's order but forget the regions already tried",
    hint: 'Hint 1: nearest healthy region',
    replace: `const healthy = ranked.filter((region) => region.up)`,
    with: `const healthy = order.flatMap((name) =>
    regions.filter((region) => region.name === name && region.up),
  )`,
  },
  {
    name: 'fails closed: no region when every health check fails',
    hint: 'Hint 2: fail open',
    replace: `const candidates = healthy.length > 0 ? healthy : ranked`,
    with: `const candidates = healthy`,
  },
  {
    name: "fails open to `regions`, ignoring the client's order and what was tried",
    hint: 'Hint 2: fail open',
    replace: `const candidates = healthy.length > 0 ? healthy : ranked`,
    with: `const candidates = healthy.length > 0 ? healthy : regions`,
  },
  {
    name: 'least-loaded compares requests in flight and ignores the weight',
    hint: 'Hint 3: least-loaded',
    replace: `    const load = region.inFlight / Math.max(region.weight, 1e-9)
    if (!best || load < best.inFlight / Math.max(best.weight, 1e-9))`,
    with: `    const load = region.inFlight
    if (!best || load < best.inFlight)`,
  },
  {
    name: 'least-loaded multiplies by the weight instead of dividing',
    hint: 'Hint 3: least-loaded',
    replace: `    const load = region.inFlight / Math.max(region.weight, 1e-9)
    if (!best || load < best.inFlight / Math.max(best.weight, 1e-9))`,
    with: `    const load = region.inFlight * region.weight
    if (!best || load < best.inFlight * best.weight)`,
  },
  {
    name: 'least-loaded gives a tie to the farther region (<= instead of <)',
    hint: 'Hint 3: least-loaded',
    replace: `if (!best || load < best.inFlight / Math.max(best.weight, 1e-9))`,
    with: `if (!best || load <= best.inFlight / Math.max(best.weight, 1e-9))`,
  },
  {
    name: 'least-loaded walks `ranked`, so a region that is down can win',
    hint: 'Hint 3: least-loaded',
    replace: `for (const region of candidates)`,
    with: `for (const region of ranked)`,
  },
  {
    name: 'least-loaded walks `regions`: ties go to the configured first, and down regions can win',
    hint: 'Hint 3: least-loaded',
    replace: `for (const region of candidates)`,
    with: `for (const region of regions)`,
  },
  {
    name: 'least-loaded returns the nearest candidate, as nearest mode does',
    hint: 'Hint 3: least-loaded',
    replace: `  let best: RegionState | undefined
  for (const region of candidates) {
    const load = region.inFlight / Math.max(region.weight, 1e-9)
    if (!best || load < best.inFlight / Math.max(best.weight, 1e-9))
      best = region
  }
  return best`,
    with: `  return candidates[0]`,
  },
  {
    name: 'least-loaded picks the busiest region (> instead of <)',
    hint: 'Hint 3: least-loaded',
    replace: `if (!best || load < best.inFlight / Math.max(best.weight, 1e-9))`,
    with: `if (!best || load > best.inFlight / Math.max(best.weight, 1e-9))`,
  },
]
