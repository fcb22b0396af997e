// Which shard owns a key: a consistent-hash ring. Every shard puts many
// points (virtual nodes) on a circle of 2^32 positions; a key belongs to the
// first point at or after its own position, going round past the top. Adding
// a shard takes over only the arcs just before its new points, so only
// about 1/(n+1) of the keys move, all of them to the new shard; removing
// one hands only its own keys to the next points along. Trade-off: many
// virtual nodes spread the keys evenly but make the ring bigger to build,
// search and send around.
import { createHash } from 'node:crypto'

export interface RingMember {
  name: string
  /** How many points it puts on the ring: more points, a more even share. */
  vnodes: number
}

export interface RingPoint {
  /** Where on the circle: 0 to 2^32 - 1. */
  position: number
  /** The member that owns the arc ending here. */
  member: string
}

/** The ring: every member's points, sorted by position. */
export interface Ring {
  points: RingPoint[]
}

/** The position of a key or a point: the first 4 bytes of its MD5, as
 * ketama does. The same in every process, on every machine, for ever. */
export function hashOf(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0)
}

/** The name of a member's i-th point: hashed, it gives its position. */
export const pointName = (member: string, i: number) => `${member}#${i}`

export function buildRing(members: RingMember[]): Ring {
  const points = members.flatMap((member) =>
    Array.from({ length: member.vnodes }, (_, i) => ({
      position: hashOf(pointName(member.name, i)),
      member: member.name,
    })),
  )
  // Two points on one position (rare): the smaller name first, everywhere.
  points.sort(
    (a, b) =>
      a.position - b.position ||
      (a.member < b.member ? -1 : a.member > b.member ? 1 : 0),
  )
  return { points }
}

/** The member that owns a key: the first point at or after its position,
 * or the very first point when the key lies past the last one. */
export function ownerOf(ring: Ring, key: string): string {
  const { points } = ring
  if (points.length === 0) throw new Error('The ring has no members')
  const position = hashOf(key)
  // Binary search: the first point whose position is >= the key's.
  let low = 0
  let high = points.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (points[middle]!.position < position) low = middle + 1
    else high = middle
  }
  return points[low === points.length ? 0 : low]!.member
}

/** The keys whose owner differs between two rings, with where each goes:
 * the plan of a resharding. */
export function movedKeys(
  before: Ring,
  after: Ring,
  keys: Iterable<string>,
): { key: string; from: string; to: string }[] {
  const moves = []
  for (const key of keys) {
    const from = ownerOf(before, key)
    const to = ownerOf(after, key)
    if (from !== to) moves.push({ key, from, to })
  }
  return moves
}
