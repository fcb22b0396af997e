// The exercise: the consistent-hash ring (src/sharding/hash-ring.ts). Run
// against exercises/ by `npm test -- step09`; each failure names the hint to
// ask for. The last tests run the whole sharded system on your ring.
import { execFileSync } from 'node:child_process'
import { isAbsolute, join } from 'node:path'
import { hinted } from '../../../shared/testing/hint'
import { createLink, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { ROOT } from '../../../shared/steps'
import {
  buildRing,
  hashOf,
  movedKeys,
  ownerOf,
  pointName,
  type Ring,
} from '../src/sharding/hash-ring'
import { DEFAULT_VNODES } from '../src/sharding/shard-map'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

const shards = (n: number, vnodes = DEFAULT_VNODES) =>
  Array.from({ length: n }, (_, i) => ({ name: `shard-${i + 1}`, vnodes }))
// Codes as the app makes them: 7 characters of base62.
const KEYS = Array.from({ length: 100_000 }, (_, i) =>
  hashOf(`key ${i}`).toString(36).padStart(7, '0').slice(-7),
)
const ownerCounts = (ring: Ring) => {
  const counts = new Map<string, number>()
  for (const key of KEYS) {
    const owner = ownerOf(ring, key)
    counts.set(owner, (counts.get(owner) ?? 0) + 1)
  }
  return counts
}

describe('building the ring', () => {
  it(
    'puts vnodes points per shard on the ring, each at the hash of its name, sorted by position',
    hinted('Hint 1: virtual nodes', () => {
      const ring = buildRing([
        { name: 'a', vnodes: 3 },
        { name: 'b', vnodes: 2 },
      ])
      const expected = [
        ...[0, 1, 2].map((i) => ({
          position: hashOf(pointName('a', i)),
          member: 'a',
        })),
        ...[0, 1].map((i) => ({
          position: hashOf(pointName('b', i)),
          member: 'b',
        })),
      ].sort((x, y) => x.position - y.position)
      expect(ring.points).toEqual(expected)
    }),
  )

  it(
    'builds the very same ring whatever the order of the shards',
    hinted('Hint 1: virtual nodes', () => {
      const forwards = buildRing(shards(4, 50))
      const backwards = buildRing(shards(4, 50).reverse())
      expect(backwards.points).toEqual(forwards.points)
      // Two names whose first points fall on one position (the first 4
      // bytes of their MD5 are the same): the tie must be broken the same
      // way whatever the order.
      const tie = [
        { name: 'shard-43507', vnodes: 1 },
        { name: 'shard-74330', vnodes: 1 },
      ]
      expect(hashOf(pointName('shard-43507', 0))).toBe(
        hashOf(pointName('shard-74330', 0)),
      )
      expect(buildRing([...tie].reverse()).points).toEqual(
        buildRing(tie).points,
      )
    }),
  )

  it(
    'keeps the busiest of five shards within 1.15 times the mean of 100,000 keys',
    hinted('Hint 1: virtual nodes', () => {
      const counts = ownerCounts(buildRing(shards(5)))
      expect(counts.size).toBe(5)
      const busiest = Math.max(...counts.values())
      expect(busiest).toBeLessThanOrEqual(1.15 * (KEYS.length / 5))
    }),
  )
})

describe('finding the owner', () => {
  // Rings built by hand around one key's position.
  const key = 'abc1234'
  const at = hashOf(key)
  const ring = (...points: [number, string][]): Ring => ({
    points: points.map(([position, member]) => ({ position, member })),
  })

  it(
    'gives a key to the first point after its position',
    hinted('Hint 2: the first point after the key', () => {
      expect(
        ownerOf(ring([at - 9, 'a'], [at + 1, 'b'], [at + 5, 'c']), key),
      ).toBe('b')
      expect(ownerOf(ring([at + 3, 'a'], [at + 7, 'b']), key)).toBe('a')
    }),
  )

  it(
    'gives a key to a point exactly at its position',
    hinted('Hint 2: the first point after the key', () => {
      expect(ownerOf(ring([at - 1, 'a'], [at, 'b'], [at + 1, 'c']), key)).toBe(
        'b',
      )
    }),
  )

  it(
    'wraps round to the first point when the key lies past the last one',
    hinted('Hint 2: the first point after the key', () => {
      expect(
        ownerOf(ring([at - 9, 'a'], [at - 5, 'b'], [at - 1, 'c']), key),
      ).toBe('a')
    }),
  )

  it(
    'finds the same owners as a walk round the ring, on a ring of 2,500 points',
    hinted('Hint 2: the first point after the key', () => {
      const big = buildRing(shards(5))
      const walk = (k: string) => {
        const position = hashOf(k)
        return (
          big.points.find((p) => p.position >= position) ?? big.points[0]!
        ).member
      }
      for (const k of KEYS.slice(0, 2000)) expect(ownerOf(big, k)).toBe(walk(k))
    }),
  )

  it(
    'finds the owner by binary search: about log2(n) points read per key on a ring of 10,000 points, not a walk through them',
    hinted('Hint 2: the first point after the key', () => {
      const big = buildRing(shards(5, 2000))
      const n = big.points.length
      // Every points[i] your ownerOf() reads, however it reads it: an index,
      // find(), a for...of, a copy of the array.
      let reads = 0
      const counted: Ring = {
        points: new Proxy(big.points, {
          get(target, property, receiver) {
            if (typeof property === 'string' && /^\d+$/.test(property)) reads++
            return Reflect.get(target, property, receiver)
          },
        }),
      }
      const keys = KEYS.slice(0, 1000)
      for (const k of keys) ownerOf(counted, k)
      const perKey = reads / keys.length
      // A binary search reads about log2(10,000) = 14 points; a walk from
      // the start, 5,000 on average.
      const steps = Math.ceil(Math.log2(n))
      if (perKey > 2 * steps)
        throw new Error(
          `ownerOf() read ${perKey.toFixed(0)} of the ${n} points per key, on average: a binary search reads about ${steps}`,
        )
      for (const k of keys.slice(0, 50))
        expect(ownerOf(counted, k)).toBe(ownerOf(big, k))
    }),
  )

  it(
    'finds the same owner in another process: the ring is the same everywhere',
    hinted('Hint 2: the first point after the key', () => {
      // Here first: a gap in your ring is reached in this process.
      const here = buildRing(shards(3))
      const folder = process.env.WORKSHOP_EXERCISES || 'solutions'
      const file = join(
        isAbsolute(folder) ? folder : join(ROOT, folder),
        'step09-sharding',
        'hash-ring.ts',
      )
      const keys = KEYS.slice(0, 500)
      // The shards in the other order, and the keys on stdin.
      const script = `
        const { buildRing, ownerOf } = require(${JSON.stringify(file)})
        const ring = buildRing(${JSON.stringify(shards(3).reverse())})
        const keys = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
        console.log(JSON.stringify(keys.map((k) => ownerOf(ring, k))))`
      let output: string
      try {
        output = execFileSync(
          process.execPath,
          ['--import', 'tsx', '-e', script],
          {
            cwd: ROOT,
            encoding: 'utf8',
            input: JSON.stringify(keys),
            stdio: 'pipe',
          },
        )
      } catch (error: unknown) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        const cause = stderr.split('\n').find((line) => /Error/.test(line))
        throw new Error(`The other process failed: ${cause ?? stderr}`, {
          cause: error,
        })
      }
      expect(JSON.parse(output)).toEqual(keys.map((k) => ownerOf(here, k)))
    }),
  )
})

describe('which keys move', () => {
  it(
    'moves 20% ± 2% of 100,000 keys when a fifth shard joins four, every one to the new shard',
    hinted('Hint 3: which keys move', () => {
      const moves = movedKeys(buildRing(shards(4)), buildRing(shards(5)), KEYS)
      expect(moves.length / KEYS.length).toBeGreaterThanOrEqual(0.18)
      expect(moves.length / KEYS.length).toBeLessThanOrEqual(0.22)
      expect(new Set(moves.map((m) => m.to))).toEqual(new Set(['shard-5']))
      const before = buildRing(shards(4))
      for (const move of moves.slice(0, 100))
        expect(move.from).toBe(ownerOf(before, move.key))
    }),
  )

  it(
    "moves only the removed shard's keys when a shard leaves",
    hinted('Hint 3: which keys move', () => {
      const before = buildRing(shards(5))
      const after = buildRing(shards(5).filter((s) => s.name !== 'shard-3'))
      const moves = movedKeys(before, after, new Set(KEYS.slice(0, 20_000)))
      const owned = KEYS.slice(0, 20_000).filter(
        (key) => ownerOf(before, key) === 'shard-3',
      )
      expect(moves.map((m) => m.key).sort()).toEqual(owned.sort())
      expect(moves.every((m) => m.from === 'shard-3')).toBe(true)
    }),
  )
})

describe('your ring in the running system', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    // A ring that throws stops the system half started, and Jest would wait
    // on what did start: start it only once your ring answers.
    try {
      ownerOf(buildRing(shards(3)), 'abc1234')
    } catch {
      return
    }
    system = await startSystem({ ...fast, dataDir: data.path })
  })
  afterAll(async () => {
    await system?.close()
    data.remove()
  })
  const node = (name: string) => system.nodes.find((n) => n.name === name)!

  // Which shards' primaries hold a code, asked directly.
  const holders = async (code: string) => {
    const found = []
    for (const { name } of (await system.shardMap()).shards) {
      const primary = node(`db-s${name.split('-')[1]}-asia`)
      const reply = await fetch(`${primary.url}/query`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          sql: 'SELECT code FROM links WHERE code = ?',
          params: [code],
        }),
      })
      const { rows } = (await reply.json()) as { rows: unknown[] }
      if (rows.length > 0) found.push(name)
    }
    return found
  }

  it(
    'stores every new link on the shard your ring names, and on no other, and finds it through any app server in either region',
    hinted('Hint 2: the first point after the key', async () => {
      // Your ring first: a gap in it is reached here, in one line.
      const ring = buildRing(shards(3))
      expect((await system.shardMap()).shards).toEqual(shards(3))
      const apps = system.nodes.filter((n) => n.role === 'app')
      const owners = new Set<string>()
      for (let i = 0; i < 12; i++) {
        const link = await createLink(apps[i % apps.length]!.url)
        const owner = ownerOf(ring, link.code)
        owners.add(owner)
        expect(await holders(link.code)).toEqual([owner])
        for (const app of apps) {
          const reply = await send(app.url, `/api/links/${link.code}`)
          expect(reply.status).toBe(200)
          expect(reply.headers.get('x-shard')).toBe(owner)
        }
      }
      expect(owners.size).toBeGreaterThan(1)
    }),
  )

  it(
    'moves exactly the links your movedKeys() plans when a fourth shard joins the running system, each from the shard that held it',
    hinted('Hint 3: which keys move', async () => {
      // Your functions first: a gap in them is reached here, in one line.
      const before = buildRing(shards(3))
      const after = buildRing(shards(4))
      movedKeys(before, after, [])
      expect((await system.shardMap()).shards).toEqual(shards(3))
      const links = await Promise.all(
        Array.from({ length: 40 }, () => createLink(system.url)),
      )
      const codes = links.map((link) => link.code)
      const plan = movedKeys(before, after, codes)
      const heldBefore = await Promise.all(codes.map(holders))
      // The system's move does not call movedKeys(): it asks your ring for
      // the new owner of every row it reads, page by page. The same plan.
      await system.reshard('add')
      const heldAfter = await Promise.all(codes.map(holders))
      // Every link on one shard, before and after.
      expect(
        [...heldBefore, ...heldAfter].filter((held) => held.length !== 1),
      ).toEqual([])
      const moved = codes.flatMap((key, i) => {
        const [from, to] = [heldBefore[i]![0]!, heldAfter[i]![0]!]
        return from === to ? [] : [{ key, from, to }]
      })
      const byKey = (a: { key: string }, b: { key: string }) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0
      expect([...plan].sort(byKey)).toEqual(moved.sort(byKey))
    }),
  )
})
