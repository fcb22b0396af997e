// The shard map's own rules, without a system: what a new system's map is
// made of, and what is not a map at all.
import {
  DEFAULT_VNODES,
  firstShardMap,
  isShardMap,
  shardMapProblem,
} from '../src/sharding/shard-map'

const names = ['shard-1', 'shard-2', 'shard-3', 'shard-4', 'shard-5']

describe('the shard map', () => {
  it('makes a new map of three ring shards of 500 points, or of the shards, scheme and points asked for', () => {
    expect(firstShardMap(names, {})).toEqual({
      epoch: 1,
      scheme: 'ring',
      shards: names.slice(0, 3).map((name) => ({
        name,
        vnodes: DEFAULT_VNODES,
      })),
    })
    const map = firstShardMap(names, { shards: 5, scheme: 'range', vnodes: 7 })
    expect(map.scheme).toBe('range')
    expect(map.shards).toEqual(names.map((name) => ({ name, vnodes: 7 })))
    expect(isShardMap(map)).toBe(true)
  })

  it('refuses a shards count, scheme or vnodes out of range, with a message naming the option', () => {
    const bad: [object, RegExp][] = [
      [
        { shards: 0 },
        /^SystemOptions\.shards must be a whole number from 1 to 5, not 0$/,
      ],
      [{ shards: 6 }, /^SystemOptions\.shards .* not 6$/],
      [{ shards: 2.5 }, /^SystemOptions\.shards .* not 2\.5$/],
      [{ shards: -1 }, /^SystemOptions\.shards .* not -1$/],
      [
        { scheme: 'hash' },
        /^SystemOptions\.scheme must be 'ring' or 'range', not "hash"$/,
      ],
      [
        { vnodes: 0 },
        /^SystemOptions\.vnodes must be a whole number from 1 to 10000, not 0$/,
      ],
      [{ vnodes: 20_000 }, /^SystemOptions\.vnodes .* not 20000$/],
    ]
    for (const [options, message] of bad)
      expect(() => firstShardMap(names, options)).toThrow(message)
  })

  it('says what makes a map that the witness or an app server is given not a map', () => {
    const map = firstShardMap(names, {})
    expect(shardMapProblem(map)).toBeUndefined()
    expect(shardMapProblem({ ...map, shards: [] })).toBe(
      'shards must list at least one shard',
    )
    expect(shardMapProblem({ ...map, scheme: 'hash' })).toBe(
      `scheme must be 'ring' or 'range', not "hash"`,
    )
    expect(shardMapProblem({ ...map, epoch: 0 })).toBe(
      'epoch must be a positive integer',
    )
    expect(
      shardMapProblem({ ...map, previous: [{ name: 'shard-1', vnodes: 0 }] }),
    ).toBe("previous: shard-1's vnodes must be a whole number from 1 to 10000")
    expect(
      shardMapProblem({ ...map, shards: [{ name: 'a b', vnodes: 1 }] }),
    ).toMatch(/^shards: a shard's name/)
    expect(shardMapProblem(null)).toBe('not an object')
  })
})
