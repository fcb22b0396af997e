// Which shard owns a key: a consistent-hash ring. Every shard puts many
// points (virtual nodes) on a circle of 2^32 positions; a key belongs to the
// first point at or after its own position, going round past the top. Adding
// a shard takes over only the arcs just before its new points, so only
// about 1/(n+1) of the keys move, all of them to the new shard; removing
// one hands only its own keys to the next points along. Trade-off: many
// virtual nodes spread the keys evenly but make the ring bigger to build,
// search and send around.
import { todo } from '../../shared/todo'
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
  // 🐨 Give each member `vnodes` points, at hashOf(pointName(name, i)) for
  //    i = 0 .. vnodes - 1, and return them sorted by position.
  // 💰 Sort with a tie-break on the member's name: every process must build
  //    the very same ring from the same members, whatever their order.
  // 🦉 One point per member leaves arcs of very different lengths: with a
  //    hundred or more, each member's share is close to 1/n.
  return todo('buildRing()', 'Hint 1: virtual nodes')
}

/** The member that owns a key: the first point at or after its position,
 * or the very first point when the key lies past the last one. */
export function ownerOf(ring: Ring, key: string): string {
  const { points } = ring
  if (points.length === 0) throw new Error('The ring has no members')
  const position = hashOf(key)
  // 🐨 Find the first point whose position is >= `position`; when there is
  //    none, the key wraps round to points[0].
  // 💰 `points` is sorted: a binary search finds it in about 20 steps for a
  //    million points, where a walk from the start takes a million.
  // 🦉 A point exactly at the key's position owns it (>=, not >).
  return todo('ownerOf()', 'Hint 2: the first point after the key')
}

/** The keys whose owner differs between two rings, with where each goes:
 * the plan of a resharding. */
export function movedKeys(
  before: Ring,
  after: Ring,
  keys: Iterable<string>,
): { key: string; from: string; to: string }[] {
  // 🐨 For each key, its owner on `before` and on `after`; keep the keys
  //    whose owner changed, as { key, from, to }.
  // 💰 `keys` may be any iterable (a Set, a generator): for...of takes them
  //    all, once.
  // 🦉 On a ring, adding a shard moves keys only TO it: every `to` is the
  //    new shard, and about 1/(n+1) of the keys move.
  return todo('movedKeys()', 'Hint 3: which keys move')
}
