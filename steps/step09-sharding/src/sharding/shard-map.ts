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

/** At most this many points per shard: a ring any process builds in a
 * few milliseconds. */
export const MAX_VNODES = 10_000

const validVnodes = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_VNODES

/** What is wrong with a would-be map, in a few words; undefined when it is
 * a map as the witness keeps it (anything else is refused). */
export function shardMapProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object'
  const map = value as Record<string, unknown>
  if (!(Number.isSafeInteger(map.epoch) && (map.epoch as number) > 0))
    return 'epoch must be a positive integer'
  if (map.scheme !== 'ring' && map.scheme !== 'range')
    return `scheme must be 'ring' or 'range', not ${JSON.stringify(map.scheme)}`
  for (const field of ['shards', 'previous'] as const) {
    const list = map[field]
    if (field === 'previous' && list === undefined) continue
    if (!Array.isArray(list) || list.length === 0)
      return `${field} must list at least one shard`
    for (const member of list as unknown[]) {
      const { name, vnodes } = (member ?? {}) as Record<string, unknown>
      if (typeof name !== 'string' || !/^[\w-]{1,32}$/.test(name))
        return `${field}: a shard's name must be 1 to 32 letters, digits, _ or -`
      if (!validVnodes(vnodes))
        return `${field}: ${name}'s vnodes must be a whole number from 1 to ${MAX_VNODES}`
    }
  }
  return undefined
}

export function isShardMap(value: unknown): value is ShardMap {
  return shardMapProblem(value) === undefined
}

/** The map a new system starts with, from its options: the first `shards`
 * of `names`. A bad option fails here, at start-up, and says which. */
export function firstShardMap(
  names: string[],
  options: { shards?: number; scheme?: Scheme; vnodes?: number },
): ShardMap {
  const { shards = 3, scheme = 'ring', vnodes = DEFAULT_VNODES } = options
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= names.length))
    throw new TypeError(
      `SystemOptions.shards must be a whole number from 1 to ${names.length}, not ${String(shards)}`,
    )
  if (scheme !== 'ring' && scheme !== 'range')
    throw new TypeError(
      `SystemOptions.scheme must be 'ring' or 'range', not ${JSON.stringify(scheme)}`,
    )
  if (!validVnodes(vnodes))
    throw new TypeError(
      `SystemOptions.vnodes must be a whole number from 1 to ${MAX_VNODES}, not ${String(vnodes)}`,
    )
  return {
    epoch: 1,
    scheme,
    shards: names.slice(0, shards).map((name) => ({ name, vnodes })),
  }
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
