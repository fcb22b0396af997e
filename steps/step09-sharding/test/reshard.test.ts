// Resharding online: a fourth shard joins under a steady mixed load, then
// leaves again. Every answer during both moves is recorded.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createLink,
  newClient,
  postJson,
  send,
  uniqueUrl,
} from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { buildRing, ownerOf } from '../src/sharding/hash-ring'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!

type Known = { code: string; url: string; deleteToken?: string }

// Lets the load run on for n more requests.
async function moreRequests(load: { requests: number }, n: number) {
  const target = load.requests + n
  await waitFor(`${n} more requests`, () => load.requests >= target)
}

// Through both edges, until stopped: creates, details reads (which skip the
// caches and so reach the shards), redirects, a second create of an alias
// that exists (refused, wherever its row is), and deletes of links made
// before the move. What failed, what was acknowledged, what was deleted.
function mixedLoad(system: System, known: Known[], doomed: Known[]) {
  let running = true
  let requests = 0
  const failed: string[] = []
  const created: Known[] = []
  const deleted: Known[] = []
  const edges = ['edge-us', 'edge-asia'].map((name) => node(system, name).url)
  const pick = (n: number) => {
    // The links made during the move are read back during it too.
    const pool = n % 3 === 0 && created.length > 0 ? created : known
    return pool[(n * 7919) % pool.length]!
  }
  const loops = Array.from({ length: 4 }, async (_, i) => {
    for (let n = i; running; n++) {
      const edge = edges[n % 2]!
      requests++
      const kind = n % 8
      if (kind === 0) {
        const url = uniqueUrl()
        const reply = await postJson(edge, '/api/links', { url }).catch(
          (error: Error) => ({ status: 0, json: { error: error.message } }),
        )
        if (reply.status === 201) created.push({ code: reply.json.code, url })
        else failed.push(`create ${reply.status} ${JSON.stringify(reply.json)}`)
      } else if (kind === 4) {
        const taken = known.filter((link) => link.code.startsWith('alias-'))
        const alias = taken[(n * 31) % taken.length]!.code
        const reply = await postJson(edge, '/api/links', {
          url: uniqueUrl(),
          alias,
        })
        if (reply.status !== 409)
          failed.push(`alias ${alias} taken twice: ${reply.status}`)
      } else if (kind === 7 && doomed.length > 0) {
        const link = doomed.pop()!
        const gone = await send(edge, `/api/links/${link.code}`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${link.deleteToken}` },
        })
        if (gone.status === 204) deleted.push(link)
        else failed.push(`delete ${link.code} ${gone.status} ${gone.body}`)
      } else if (kind % 2 === 1) {
        const link = pick(n)
        const reply = await send(edge, `/api/links/${link.code}`).catch(
          (error: Error) => ({
            status: 0,
            json: undefined,
            body: error.message,
          }),
        )
        if (reply.status !== 200 || reply.json?.url !== link.url)
          failed.push(`details ${link.code} ${reply.status} ${reply.body}`)
      } else {
        const link = pick(n)
        const reply = await send(edge, `/${link.code}`).catch(
          (error: Error) => ({
            status: 0,
            headers: new Headers(),
            body: error.message,
          }),
        )
        if (reply.status !== 302 || reply.headers.get('location') !== link.url)
          failed.push(`redirect ${link.code} ${reply.status} ${reply.body}`)
      }
      await delay(2)
    }
  })
  return {
    failed,
    created,
    deleted,
    get requests() {
      return requests
    },
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

// After a move: every link answers from the shards (details skip the
// caches), and every deleted one stays deleted.
async function expectAllThere(
  system: System,
  links: Known[],
  deleted: Known[],
) {
  const status = async (link: Known) => {
    const reply = await send(system.url, `/api/links/${link.code}`)
    return [link.code, reply.status, reply.json?.url]
  }
  for (let i = 0; i < links.length; i += 20) {
    const some = links.slice(i, i + 20)
    expect(await Promise.all(some.map(status))).toEqual(
      some.map((link) => [link.code, 200, link.url]),
    )
  }
  expect(await Promise.all(deleted.map(status))).toEqual(
    deleted.map((link) => [link.code, 410, undefined]),
  )
}

async function codesOn(system: System, database: string) {
  const reply = await fetch(`${node(system, database).url}/query`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT code FROM links' }),
  })
  const { rows } = (await reply.json()) as { rows: { code: string }[] }
  return rows.map((row) => row.code)
}

describe('resharding online', () => {
  const data = tempDir()
  let system: System
  const known: Known[] = []
  // Links to delete while they may be moving.
  const doomed: Known[] = []
  beforeAll(async () => {
    // A slow move (a page of 20 links every 40 ms): the load meets it at
    // every stage, not only before and after. App servers read the map only
    // when a node refuses theirs: the refusals alone must keep them right.
    system = await startSystem({
      ...fast,
      dataDir: data.path,
      shardMapIntervalMs: 60_000,
      reshardPageSize: 20,
      reshardPauseMs: 40,
    })
    const make = async (
      count: number,
      body: (i: number) => Record<string, unknown>,
    ) => {
      const made: Known[] = []
      for (let i = 0; i < count; i += 25)
        made.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(25, count - i) }, (_, j) =>
              createLink(system.url, body(i + j)),
            ),
          )),
        )
      return made
    }
    known.push(...(await make(200, () => ({}))))
    known.push(...(await make(60, (i) => ({ alias: `alias-${i}` }))))
    doomed.push(...(await make(120, () => ({}))))
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('adds a shard under creates, reads and deletes: none fails, no link is ever missing, no delete is undone, about a quarter of the links move, and the old copies go', async () => {
    const load = mixedLoad(system, known, doomed)
    await moreRequests(load, 20)
    const lines: string[] = []
    const report = await system.reshard('add', (line) => lines.push(line))
    await moreRequests(load, 30) // and after the cut-over
    await load.stop()
    console.info(
      `${load.requests} requests during the move: ${load.created.length} creates, ${load.deleted.length} deletes`,
      report,
    )
    expect(load.failed).toEqual([])
    expect(load.created.length).toBeGreaterThan(0)
    expect(load.deleted.length).toBeGreaterThan(0)
    expect(report).toMatchObject({ action: 'add', shard: 'shard-4' })
    // 1/(n+1) of the links there were: a quarter, give or take.
    expect(report.moved / report.total).toBeGreaterThan(0.17)
    expect(report.moved / report.total).toBeLessThan(0.33)
    expect(lines.some((line) => line.includes('cut over'))).toBe(true)

    // Every link, old or created during the move, redirects; and each
    // lives on its owner alone, in asia and in us.
    const map = await system.shardMap()
    expect(map.previous).toBeUndefined()
    const ring = buildRing(map.shards)
    const all = [...known, ...load.created]
    await expectAllThere(system, all, load.deleted)
    for (const { name } of map.shards) {
      const k = name.split('-')[1]
      for (const db of [`db-s${k}-asia`]) {
        const codes = await codesOn(system, db)
        expect(codes.filter((code) => ownerOf(ring, code) !== name)).toEqual([])
      }
    }
    const total = (
      await Promise.all(
        map.shards.map((s) =>
          codesOn(system, `db-s${s.name.split('-')[1]}-asia`),
        ),
      )
    ).flat().length
    expect(total).toBe(all.length + load.deleted.length + doomed.length)
    // A move is not a deletion: the audit log has the deletes clients made,
    // and no other.
    await waitFor('the deletes to be audited', () =>
      load.deleted.every((link) =>
        readFileSync(join(data.path, 'audit.log'), 'utf8').includes(link.code),
      ),
    )
    const deletes = readFileSync(join(data.path, 'audit.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"link.deleted"'))
    expect(deletes).toHaveLength(load.deleted.length)
    known.push(...load.created)
  })

  it('removes the shard again under the same load, with the same guarantees, and stops its processes', async () => {
    const load = mixedLoad(system, known, doomed)
    await moreRequests(load, 20)
    const report = await system.reshard('remove')
    await moreRequests(load, 30) // and after the cut-over
    await load.stop()
    expect(load.failed).toEqual([])
    expect(report).toMatchObject({ action: 'remove', shard: 'shard-4' })
    const map = await system.shardMap()
    expect(map.shards.map((s) => s.name)).toEqual([
      'shard-1',
      'shard-2',
      'shard-3',
    ])
    expect(system.nodes.some((n) => n.shard === 'shard-4')).toBe(false)
    await expectAllThere(system, [...known, ...load.created], load.deleted)
  })

  it('calls a move off before anything moves when a shard node is down, and leaves the map as it was', async () => {
    const before = await system.shardMap()
    const replica = node(system, 'db-s1-us')
    await replica.kill()
    try {
      await expect(system.reshard('add')).rejects.toThrow(
        /db-s1-us did not take epoch/,
      )
    } finally {
      await replica.restart()
    }
    expect(await system.shardMap()).toEqual(before)
    expect(system.nodes.some((n) => n.shard === 'shard-4')).toBe(false)
  })

  it('keeps a link deleted while its copy is on its way: from the delete on, its redirects and details answer 410 through every cache, during the move and after', async () => {
    // The links that will move to shard-4, grouped by the shard they leave.
    const map = await system.shardMap()
    const now = buildRing(map.shards)
    const next = buildRing([
      ...map.shards,
      { name: 'shard-4', vnodes: map.shards[0]!.vnodes },
    ])
    const leaving = doomed.filter(
      (link) => ownerOf(next, link.code) === 'shard-4',
    )
    expect(leaving.length).toBeGreaterThan(0)
    // Each link read once before the move: its copy sits in the caches.
    for (const link of leaving)
      expect((await send(system.url, `/${link.code}`)).status).toBe(302)
    const deleted: Known[] = []
    const deletes: Promise<void>[] = []
    // Once a delete is acknowledged, a client that did not make it (no
    // cookie) asks for the link through both edges, until after the move:
    // a redirect (the caches' way) and the details (the shards' way).
    const edges = ['edge-us', 'edge-asia'].map((name) => node(system, name).url)
    const wrong: string[] = []
    const bystander = newClient()
    let reading = true
    let phase = 'during the move'
    const reader = (async () => {
      for (let n = 0; reading; n++) {
        const link = deleted[n % Math.max(1, deleted.length)]
        if (!link) {
          await delay(5)
          continue
        }
        const path = n % 2 === 0 ? `/${link.code}` : `/api/links/${link.code}`
        const reply = await bystander.send(edges[(n >> 1) % 2]!, path)
        if (reply.status !== 410)
          wrong.push(`${phase}: ${path} ${reply.status} ${reply.body}`)
        await delay(5)
      }
    })()
    // One page per shard, and a long rest after reading it: each shard's
    // leaving links are deleted while their copies are on their way.
    const moved = system.reshard(
      'add',
      (line) => {
        const read = /^(shard-\d): \d+ links read/.exec(line)
        if (!read) return
        for (const link of leaving.filter(
          (l) => ownerOf(now, l.code) === read[1],
        ))
          deletes.push(
            (async () => {
              const gone = await send(system.url, `/api/links/${link.code}`, {
                method: 'DELETE',
                headers: { Authorization: `Bearer ${link.deleteToken}` },
              })
              expect(gone.status).toBe(204)
              deleted.push(link)
            })(),
          )
      },
      { pageSize: 10_000, pauseMs: 400 },
    )
    await moved
    await Promise.all(deletes)
    phase = 'after the move'
    // After the cut-over too: a live copy in a cache would show now.
    await delay(800)
    reading = false
    await reader
    expect(deleted.length).toBe(leaving.length)
    expect(wrong).toEqual([])
    for (const link of deleted) {
      const reply = await send(system.url, `/api/links/${link.code}`)
      expect([link.code, reply.status]).toEqual([link.code, 410])
    }
  })

  it('lets an app server that missed a removal find every link at once', async () => {
    // After the last test shard-4 is in the map, and app-us-2 follows it.
    const app = node(system, 'app-us-2')
    const ring = buildRing((await system.shardMap()).shards)
    const onFour = known
      .filter((link) => ownerOf(ring, link.code) === 'shard-4')
      .slice(0, 5)
    expect(onFour.length).toBeGreaterThan(0)
    for (const link of onFour)
      expect((await send(app.url, `/api/links/${link.code}`)).status).toBe(200)
    // It hears nothing of the removal: its next requests learn of it.
    await system.reshard('remove')
    for (const link of onFour) {
      const reply = await send(app.url, `/api/links/${link.code}`)
      expect([link.code, reply.status]).toEqual([link.code, 200])
    }
  })

  it('names in X-Shard and X-DB the shard that answered: during a move, the old owner of a link not copied yet; after it, the new owner', async () => {
    // The links that will move to shard-4, by the shard they leave.
    const map = await system.shardMap()
    const now = buildRing(map.shards)
    const next = buildRing([
      ...map.shards,
      { name: 'shard-4', vnodes: map.shards[0]!.vnodes },
    ])
    const leaving = known.filter(
      (link) => ownerOf(next, link.code) === 'shard-4',
    )
    const reader = newClient() // no cookie: no read waits for a write
    const where = async (link: Known) => {
      const reply = await reader.send(system.url, `/api/links/${link.code}`)
      return [
        link.code,
        reply.status,
        reply.headers.get('x-shard'),
        reply.headers.get('x-db')?.replace(/^\w+ (db-s\d)-.*$/, '$1'),
      ]
    }
    // While each shard's page rests (read, not copied yet), some of its
    // leaving links are asked for: only their old owner has them.
    const during: Promise<unknown[]>[] = []
    const expected: unknown[][] = []
    await system.reshard(
      'add',
      (line) => {
        const read = /^shard-(\d): \d+ links read/.exec(line)
        if (!read) return
        const from = `shard-${read[1]}`
        for (const link of leaving
          .filter((l) => ownerOf(now, l.code) === from)
          .slice(0, 3)) {
          during.push(where(link))
          expected.push([link.code, 200, from, `db-s${read[1]}`])
        }
      },
      { pageSize: 10_000, pauseMs: 300 },
    )
    expect(expected.length).toBeGreaterThan(0)
    expect(await Promise.all(during)).toEqual(expected)
    for (const link of leaving.slice(0, 5))
      expect(await where(link)).toEqual([link.code, 200, 'shard-4', 'db-s4'])
  })
})
