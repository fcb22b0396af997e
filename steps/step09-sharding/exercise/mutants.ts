// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'one point per member: arcs of very different lengths',
    hint: 'Hint 1: virtual nodes',
    replace: `Array.from({ length: member.vnodes }, (_, i) => ({`,
    with: `Array.from({ length: 1 }, (_, i) => ({`,
  },
  {
    name: "the member's name hashed without the index: all its points on one position",
    hint: 'Hint 1: virtual nodes',
    replace: `position: hashOf(pointName(member.name, i)),`,
    with: `position: hashOf(member.name),`,
  },
  {
    name: 'points named another way than pointName(): a ring no other process builds',
    hint: 'Hint 1: virtual nodes',
    replace: `position: hashOf(pointName(member.name, i)),`,
    with: `position: hashOf(\`\${member.name}-\${i}\`),`,
  },
  {
    name: 'points counted from 1: vnodes points, but not the ones named 0 to vnodes - 1',
    hint: 'Hint 1: virtual nodes',
    replace: `position: hashOf(pointName(member.name, i)),`,
    with: `position: hashOf(pointName(member.name, i + 1)),`,
  },
  {
    name: 'the points are not sorted',
    hint: 'Hint 1: virtual nodes',
    replace: `  points.sort(
    (a, b) =>
      a.position - b.position ||
      (a.member < b.member ? -1 : a.member > b.member ? 1 : 0),
  )
`,
    with: '',
  },
  {
    name: 'sorted by member first, then by position',
    hint: 'Hint 1: virtual nodes',
    replace: `      a.position - b.position ||
      (a.member < b.member ? -1 : a.member > b.member ? 1 : 0),`,
    with: `      (a.member < b.member ? -1 : a.member > b.member ? 1 : 0) ||
      a.position - b.position,`,
  },
  {
    name: 'sorted without a tie-break: two points on one position keep the order the members came in',
    hint: 'Hint 1: virtual nodes',
    replace: `      a.position - b.position ||
      (a.member < b.member ? -1 : a.member > b.member ? 1 : 0),`,
    with: `      a.position - b.position,`,
  },
  {
    name: '> for >=: a key exactly on a point goes to the next one',
    hint: 'Hint 2: the first point after the key',
    replace: `if (points[middle]!.position < position) low = middle + 1`,
    with: `if (points[middle]!.position <= position) low = middle + 1`,
  },
  {
    name: 'no wrap-around: a key past the last point finds no point at all',
    hint: 'Hint 2: the first point after the key',
    replace: `return points[low === points.length ? 0 : low]!.member`,
    with: `return points[low]!.member`,
  },
  {
    name: 'a key past the last point goes to the last point, not round to the first',
    hint: 'Hint 2: the first point after the key',
    replace: `  let high = points.length
`,
    with: `  let high = points.length - 1
`,
  },
  {
    name: 'the point before the key owns it, not the one after',
    hint: 'Hint 2: the first point after the key',
    replace: `return points[low === points.length ? 0 : low]!.member`,
    with: `return points[low === 0 ? points.length - 1 : low - 1]!.member`,
  },
  {
    name: 'a walk from the first point: the right owner, after thousands of reads',
    hint: 'Hint 2: the first point after the key',
    replace: `  let low = 0
  let high = points.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (points[middle]!.position < position) low = middle + 1
    else high = middle
  }
  return points[low === points.length ? 0 : low]!.member`,
    with: `  const found = points.findIndex((point) => point.position >= position)
  return points[found === -1 ? 0 : found]!.member`,
  },
  {
    name: 'every key is listed, the ones whose owner stayed too',
    hint: 'Hint 3: which keys move',
    replace: `if (from !== to) moves.push({ key, from, to })`,
    with: `moves.push({ key, from, to })`,
  },
  {
    name: 'from and to swapped',
    hint: 'Hint 3: which keys move',
    replace: `if (from !== to) moves.push({ key, from, to })`,
    with: `if (from !== to) moves.push({ key, from: to, to: from })`,
  },
  {
    name: 'both owners asked of the ring after the move: nothing moves',
    hint: 'Hint 3: which keys move',
    replace: `const from = ownerOf(before, key)`,
    with: `const from = ownerOf(after, key)`,
  },
  {
    name: 'for...in for for...of: indexes of an array, nothing of a Set',
    hint: 'Hint 3: which keys move',
    replace: `for (const key of keys) {`,
    with: `for (const key in keys) {`,
  },
]
