import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Topology } from '../../../shared/topology'
import { ROOT } from '../../../shared/steps'
import { counterSum } from '../../../shared/testing/metrics'
import {
  createLink,
  newClient,
  postJson,
  send,
} from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'
import { admin, auth, fast } from './fast'

const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!
const fromUs = { headers: { 'x-client-region': 'us' } }

// Asked of a database node directly, with the database token.
async function query(url: string, sql: string, params: unknown[] = []) {
  const reply = await fetch(`${url}/query`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sql, params }),
  })
  return {
    status: reply.status,
    json: (await reply.json()) as {
      rows: { n: number; code: string; clicks: number }[]
    },
  }
}

// Aliases as people choose them: words, mostly lower case, a few numbers.
const WORDS = [
  'summer',
  'sale',
  'promo',
  'blog',
  'post',
  'team',
  'meeting',
  'news',
  'launch',
  'docs',
  'sign',
  'up',
  'free',
  'trial',
  'spring',
  'event',
  'shop',
  'deal',
  'career',
  'jobs',
  'help',
  'support',
  'music',
  'video',
  'photo',
  'travel',
  'menu',
  'order',
  'book',
  'ticket',
  'party',
  'contest',
]
const aliases = (count: number, tag: string) =>
  Array.from(
    { length: count },
    (_, i) =>
      `${WORDS[i % WORDS.length]}-${WORDS[(i * 7 + 3) % WORDS.length]}-${tag}${i}`,
  )
// A client's way on a loaded machine: a 503 ("try again shortly") is tried
// again; a 409 then means the first attempt did land, if the alias is ours.
const createAlias = async (base: string, alias: string) => {
  const url = `https://example.com/${alias}`
  for (let attempt = 1; ; attempt++) {
    const reply = await postJson(base, '/api/links', { url, alias })
    if (reply.status === 201) return
    if (reply.status === 409 && attempt > 1) {
      const there = await send(base, `/api/links/${alias}`)
      if (there.json?.url === url) return
    }
    if (reply.status !== 503 || attempt === 3)
      throw new Error(`${alias}: ${reply.status} ${JSON.stringify(reply.json)}`)
    await delay(200 * attempt)
  }
}
const createAll = async (base: string, list: string[]) => {
  for (let i = 0; i < list.length; i += 20)
    await Promise.all(
      list.slice(i, i + 20).map((alias) => createAlias(base, alias)),
    )
}
const skew = (perShard: Record<string, number>) => {
  const counts = Object.values(perShard)
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length
  return Math.max(...counts) / mean
}

describe('twenty-three processes with npm start', () => {
  it('starts every shard node on its tier with its shard, adds a fourth shard with npm run reshard, and Ctrl-C leaves none behind', async () => {
    const started = await npmStart('step09')
    const { frontDoor, nodes } = started.topology
    let all: Topology['nodes'] | undefined
    try {
      expect(nodes).toHaveLength(23)
      expect(
        nodes
          .filter((n) => n.role === 'database')
          .map((n) => [n.name, n.shard ?? null, n.region]),
      ).toEqual([
        ['db-s1-asia', 'shard-1', 'asia'],
        ['db-s2-asia', 'shard-2', 'asia'],
        ['db-s3-asia', 'shard-3', 'asia'],
        ['db-analytics', null, 'asia'],
        ['db-s1-us', 'shard-1', 'us'],
        ['db-s2-us', 'shard-2', 'us'],
        ['db-s3-us', 'shard-3', 'us'],
      ])
      const links = await Promise.all(
        Array.from({ length: 8 }, () => createLink(frontDoor)),
      )
      const reshard = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'shared/cli/reshard.ts', 'step09', 'add'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, RUN_DIR: dirname(started.runFile) },
        },
      )
      // Its errors too, so that a failed move says why.
      const said = `${reshard.stdout}${reshard.stderr}`
      expect(said).toContain('starting shard-4')
      expect(said).toMatch(
        /Added shard-4: \d+ of 8 links moved \(\d+\.\d%\) in \d+ ms; the shard map is at epoch 3\./,
      )
      all = await waitFor('the topology file to list shard-4', () => {
        const now = (
          JSON.parse(readFileSync(started.runFile, 'utf8')) as Topology
        ).nodes
        return now.length === 25 ? now : undefined
      })
      for (const link of links)
        expect((await send(frontDoor, `/${link.code}`)).status).toBe(302)
    } finally {
      await started.stop('ctrl-c')
    }
    expect((all ?? nodes).some((n) => isAlive(n.pid))).toBe(false)
  })
})

describe('links over three shards', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    // The map is read rarely: a change reaches the app servers through
    // the refusals of nodes that know it.
    system = await startSystem({
      ...fast,
      dataDir: data.path,
      shardMapIntervalMs: 60_000,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('keeps an alias unique across all shards, whichever region creates it', async () => {
    const alias = 'one-of-a-kind'
    const first = await postJson(system.url, '/api/links', {
      url: 'https://example.com/first',
      alias,
    })
    expect(first.status).toBe(201)
    for (const edge of ['edge-us', 'edge-asia']) {
      const again = await postJson(node(system, edge).url, '/api/links', {
        url: 'https://example.com/second',
        alias,
      })
      expect(again.status).toBe(409)
    }
    const apps = system.nodes.filter((n) => n.role === 'app')
    for (const app of apps) {
      const again = await postJson(app.url, '/api/links', {
        url: 'https://example.com/third',
        alias,
      })
      expect(again.status).toBe(409)
    }
  })

  it('counts clicks exactly after the vertical split: the counts live in the analytics database, not beside the links', async () => {
    const links = await Promise.all(
      Array.from({ length: 6 }, () => createLink(system.url)),
    )
    const client = newClient()
    for (const [i, link] of links.entries())
      for (let n = 0; n <= i; n++)
        expect(
          (await client.send(node(system, 'edge-asia').url, `/${link.code}`))
            .status,
        ).toBe(302)
    for (const [i, link] of links.entries())
      await waitFor(`${i + 1} clicks on ${link.code}`, async () => {
        const details = await send(system.url, `/api/links/${link.code}`)
        return details.json?.clicks === i + 1
      })
    const counted = await query(
      node(system, 'db-analytics').url,
      `SELECT code, clicks FROM click_counts WHERE code IN (${links.map(() => '?').join(', ')})`,
      links.map((l) => l.code),
    )
    expect(counted.json.rows).toHaveLength(6)
    for (const shard of ['db-s1-asia', 'db-s2-asia', 'db-s3-asia']) {
      const here = await query(
        node(system, shard).url,
        'SELECT COUNT(*) AS n FROM click_events',
      )
      expect(here.json.rows[0]?.n).toBe(0)
    }
  })

  it('answers the number of links over every shard (a scatter-gather), each counted on its owner, and names every shard it asked in X-Shard', async () => {
    const before = (await send(system.url, '/api/stats')).json
    await Promise.all(Array.from({ length: 9 }, () => createLink(system.url)))
    const reply = await send(system.url, '/api/stats')
    expect(reply.headers.get('x-shard')).toBe('shard-1, shard-2, shard-3')
    const after = reply.json
    expect(after.links).toBe(before.links + 9)
    expect(Object.keys(after.perShard)).toEqual([
      'shard-1',
      'shard-2',
      'shard-3',
    ])
    const sum = Object.values(after.perShard as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    )
    expect(sum).toBe(after.links)
  })

  it('answers 405 with the methods it takes to any other method on /api/stats', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const reply = await send(system.url, '/api/stats', { method })
      expect([method, reply.status, reply.json?.error?.code]).toEqual([
        method,
        405,
        'method_not_allowed',
      ])
      expect(reply.headers.get('allow')).toBe('GET, HEAD, OPTIONS')
    }
  })

  it('refuses a request made with an older shard map, and the app servers learn the new one from the refusal', async () => {
    const links = await Promise.all(
      Array.from({ length: 4 }, () => createLink(system.url)),
    )
    const map = await system.shardMap()
    // A new map (the same shards) at the witness, then at every shard node.
    const put = await fetch(`${system.witnessUrl}/shard-map`, {
      method: 'PUT',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...map, epoch: map.epoch + 1 }),
    })
    expect(put.status).toBe(200)
    const shardNodes = system.nodes.filter((n) => n.shard)
    for (const db of shardNodes) {
      const told = await fetch(`${db.url}/shard-epoch`, {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ epoch: map.epoch + 1 }),
      })
      expect(told.status).toBe(200)
    }
    const stale = await fetch(`${shardNodes[0]!.url}/query`, {
      method: 'POST',
      headers: {
        ...auth,
        'Content-Type': 'application/json',
        'X-Shard-Epoch': String(map.epoch),
      },
      body: JSON.stringify({ sql: 'SELECT COUNT(*) FROM links' }),
    })
    expect(stale.status).toBe(409)
    expect(
      ((await stale.json()) as { error: { code: string } }).error.code,
    ).toBe('stale_shard_map')
    // A map from before is refused by the witness, too.
    const older = await fetch(`${system.witnessUrl}/shard-map`, {
      method: 'PUT',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify(map),
    })
    expect(older.status).toBe(409)
    // And a broken one, saying what is wrong with it.
    const broken = await fetch(`${system.witnessUrl}/shard-map`, {
      method: 'PUT',
      headers: { ...admin, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...map, epoch: map.epoch + 2, scheme: 'hash' }),
    })
    expect(broken.status).toBe(400)
    expect(
      ((await broken.json()) as { error: { message: string } }).error.message,
    ).toBe(`Not a shard map: scheme must be 'ring' or 'range', not "hash"`)

    // Every app server still answers, at once, by way of the refusal.
    const apps = system.nodes.filter((n) => n.role === 'app')
    for (const app of apps)
      for (const link of links) {
        const reply = await send(app.url, `/api/links/${link.code}`)
        expect(reply.status).toBe(200)
      }
    expect(
      await counterSum(system.nodes, 'shard.stale_maps'),
    ).toBeGreaterThanOrEqual(apps.length)
  })

  it('shards aliases evenly on the ring: the busiest shard holds at most 1.15 times the mean', async () => {
    const before = (await send(system.url, '/api/stats')).json.perShard
    await createAll(system.url, aliases(600, 'r'))
    const after = (await send(system.url, '/api/stats')).json.perShard
    const added = Object.fromEntries(
      Object.entries(after as Record<string, number>).map(([shard, n]) => [
        shard,
        n - before[shard],
      ]),
    )
    console.info('ring, rows per shard for 600 aliases', added)
    expect(skew(added)).toBeLessThanOrEqual(1.15)
  })
})

describe('range sharding, beside the ring', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ ...fast, dataDir: data.path, scheme: 'range' })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('puts aliases by their first character, and the same 600 aliases make one shard hot', async () => {
    await createAll(system.url, aliases(600, 'r'))
    const { perShard } = (await send(system.url, '/api/stats')).json
    console.info('range, rows per shard for 600 aliases', perShard)
    // 0-9A-K, L-Za-f, g-z_-: words in lower case crowd the last two.
    expect(perShard['shard-1']).toBe(0)
    expect(skew(perShard)).toBeGreaterThan(1.3)
    // And a code that starts with a digit lives on shard 1.
    const digit = await postJson(system.url, '/api/links', {
      url: 'https://example.com/digit',
      alias: '7even',
    })
    expect(digit.headers.get('x-shard')).toBe('shard-1')
    const reply = await send(
      node(system, 'edge-us').url,
      '/api/links/7even',
      fromUs,
    )
    expect(reply.headers.get('x-shard')).toBe('shard-1')
  })
})
