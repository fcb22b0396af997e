// The shard map: which shards hold links, and how a code finds its owner.
// It lives in one place, the witness, and every app server follows it. Its
// epoch goes up at each change; the database nodes learn the newest epoch
// and refuse a request made with an older one, so an app server that missed
// a change finds out at its next request instead of writing to the wrong
// shard. During a move the map also names the shards as they were
// (`previous`): a link not yet copied is still found where it was.
import { readFileSync } from 'node:fs'
import { buildRing, ownerOf, type Ring, type RingMember } from './hash-ring'

export type Scheme = 'ring' | 'range'

export interface ShardMap {
  epoch: number
  scheme: Scheme
  shards: RingMember[]
  /** While keys move: the shards before the move began. */
  previous?: RingMember[]
}

/** Points per shard on the ring: enough to keep each share within a few
 * per cent of the mean, few enough to build in a millisecond. */
export const DEFAULT_VNODES = 500

/** Every character a code may start with, in the order range sharding
 * splits: digits, then upper case, then lower case, then "_" and "-". */
export const ALPHABET =
  '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-'

/** Range sharding: n shards share the alphabet in equal contiguous runs of
 * first characters. With 2 shards, 0-9A-V and W-Za-z_-: the seed's A-P /
 * Q-Z idea, over the whole alphabet. Returns each shard's first character. */
export function rangeStarts(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => ALPHABET[Math.floor((i * ALPHABET.length) / n)]!,
  )
}

export interface Router {
  owner(code: string): string
  /** The owner before the move, when a move is on and it differs. */
  previousOwner(code: string): string | undefined
}

export function routerFor(map: ShardMap): Router {
  const now = ownerFunction(map.scheme, map.shards)
  const before = map.previous && ownerFunction(map.scheme, map.previous)
  return {
    owner: now,
    previousOwner(code) {
      const then = before?.(code)
      return then !== undefined && then !== now(code) ? then : undefined
    },
  }
}

function ownerFunction(scheme: Scheme, shards: RingMember[]) {
  if (scheme === 'ring') {
    const ring: Ring = buildRing(shards)
    return (code: string) => ownerOf(ring, code)
  }
  const starts = rangeStarts(shards.length)
  return (code: string) => {
    const at = ALPHABET.indexOf(code[0] ?? '')
    let shard = 0
    for (let i = 0; i < starts.length; i++)
      if (ALPHABET.indexOf(starts[i]!) <= at) shard = i
    return shards[shard]!.name
  }
}

/** A map as the witness keeps it; anything else is refused. */
export function isShardMap(value: unknown): value is ShardMap {
  const map = value as ShardMap
  const members = (list: unknown) =>
    Array.isArray(list) &&
    list.length > 0 &&
    list.every(
      (m: RingMember) =>
        typeof m?.name === 'string' &&
        /^[\w-]{1,32}$/.test(m.name) &&
        Number.isInteger(m.vnodes) &&
        m.vnodes > 0 &&
        m.vnodes <= 10_000,
    )
  return (
    typeof map === 'object' &&
    map !== null &&
    Number.isSafeInteger(map.epoch) &&
    map.epoch > 0 &&
    (map.scheme === 'ring' || map.scheme === 'range') &&
    members(map.shards) &&
    (map.previous === undefined || members(map.previous))
  )
}

/** The map kept in a file, or undefined when there is none (or not a map). */
export function readShardMap(file: string): ShardMap | undefined {
  try {
    const map: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return isShardMap(map) ? map : undefined
  } catch {
    return undefined
  }
}
