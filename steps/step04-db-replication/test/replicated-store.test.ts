// The exercise: the read/write router. `npm test -- step04` runs these
// against exercises/; each failure names the hint to read.
import { hinted } from '../../../shared/testing/hint'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'

const token = 'a-test-token-of-enough-length'
const noCookies = { cookie: 'none=1' } // a client that forgets its session

describe('replicated store: writes to the primary, reads to the replicas', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({
      dataDir: data.path,
      dbToken: token,
      healthIntervalMs: 100,
      monitorIntervalMs: 50,
      maxLagMs: 300,
      readWaitMs: 100,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })
  const db = (name: string) => system.nodes.find((node) => node.name === name)!
  const admin = (name: string, action: 'pause' | 'resume') =>
    send(db(name).url, `/replication/${action}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    })
  // Pauses the replicas' apply loops for the length of `run`.
  const whilePaused = async (names: string[], run: () => Promise<void>) => {
    for (const name of names) await admin(name, 'pause')
    try {
      await run()
    } finally {
      for (const name of names) await admin(name, 'resume')
    }
  }
  const create = async () => {
    const reply = await postJson(system.url, '/api/links', {
      url: `https://example.com/${Date.now()}/${Math.random()}`,
    })
    expect(reply.status).toBe(201)
    return reply
  }
  const readsFrom = async (
    code: string,
    times: number,
    headers: Record<string, string> = {},
  ) => {
    const served: string[] = []
    for (let i = 0; i < times; i++) {
      const reply = await send(system.url, `/api/links/${code}`, { headers })
      expect(reply.status).toBe(200)
      served.push((reply.headers.get('x-db') ?? 'none').split(';')[0]!)
    }
    return served
  }

  const bothReplicasHave = (code: string) =>
    waitFor('both replicas to apply the link', async () => {
      const sql = 'SELECT code FROM links WHERE code = ?'
      const found = await Promise.all(
        ['db-2', 'db-3'].map(async (name) => {
          const reply = await postJson(
            db(name).url,
            '/query',
            { sql, params: [code] },
            { Authorization: `Bearer ${token}` },
          )
          return reply.json?.rows?.length === 1
        }),
      )
      return found.every(Boolean)
    })

  // Reads of this link come from a replica (once one has applied it).
  const aReplicaServes = async (code: string) => {
    const served = await readsFrom(code, 1, noCookies)
    if (served[0]!.startsWith('replica')) return
    await waitFor('a replica to serve the link', async () =>
      (await readsFrom(code, 1, noCookies))[0]!.startsWith('replica'),
    )
  }

  it(
    'sends a write to the primary and reads to both replicas in turn',
    hinted('Hint 1: the read pool', async () => {
      const created = await create()
      expect(created.headers.get('x-db')).toBe('primary db-1')
      await bothReplicasHave(created.json.code)
      const served = await readsFrom(created.json.code, 6, noCookies)
      expect(new Set(served)).toEqual(new Set(['replica db-2', 'replica db-3']))
    }),
  )

  it(
    "resolves a just-created link at once while a replica's apply loop is paused",
    hinted('Hint 2: read-your-writes', async () => {
      await whilePaused(['db-2'], async () => {
        for (let i = 0; i < 5; i++) {
          const created = await create()
          const redirect = await send(system.url, `/${created.json.code}`)
          expect([redirect.status, redirect.headers.get('location')]).toEqual([
            302,
            created.json.url,
          ])
        }
      })
    }),
  )

  it(
    'answers a client without its session from the primary when the replica has not seen the link yet',
    hinted('Hint 3: a miss is not proof', async () => {
      await whilePaused(['db-2', 'db-3'], async () => {
        const created = await create()
        const reply = await send(
          system.url,
          `/api/links/${created.json.code}`,
          { headers: noCookies },
        )
        expect(reply.status).toBe(200)
        expect(reply.headers.get('x-db')).toBe('primary db-1')
      })
    }),
  )

  it(
    'answers its own client 410 right after a delete, though the replicas still have the link',
    hinted('Hint 2: read-your-writes', async () => {
      const created = await create()
      await aReplicaServes(created.json.code)
      await whilePaused(['db-2', 'db-3'], async () => {
        const deleted = await send(
          system.url,
          `/api/links/${created.json.code}`,
          {
            method: 'DELETE',
            headers: { Authorization: `Bearer ${created.json.deleteToken}` },
          },
        )
        expect(deleted.status).toBe(204)
        for (let i = 0; i < 4; i++) {
          expect(
            (await send(system.url, `/api/links/${created.json.code}`)).status,
          ).toBe(410)
        }
      })
    }),
  )

  it(
    'takes a replica out of the read pool past the lag limit, and back once it catches up',
    hinted('Hint 1: the read pool', async () => {
      const created = await create()
      await aReplicaServes(created.json.code)
      await whilePaused(['db-2'], async () => {
        await create() // db-2 now misses an entry, and its lag grows
        await waitFor('db-2 to lag past 300 ms', async () => {
          const metrics = await send(db('db-2').url, '/metrics')
          return metrics.json.replication.lagMs > 400
        })
        await waitFor('the apps to see the lag', async () => {
          const served = await readsFrom(created.json.code, 4, noCookies)
          return served.every((node) => node === 'replica db-3')
        })
      })
      await waitFor('db-2 to rejoin the read pool', async () => {
        return (await readsFrom(created.json.code, 4, noCookies)).includes(
          'replica db-2',
        )
      })
    }),
  )

  it(
    'reads from the primary when no replica is in the pool',
    hinted('Hint 1: the read pool', async () => {
      const created = await create()
      await aReplicaServes(created.json.code)
      await whilePaused(['db-2', 'db-3'], async () => {
        await create()
        await waitFor('both replicas to leave the read pool', async () => {
          const served = await readsFrom(created.json.code, 3, noCookies)
          return served.every((node) => node === 'primary db-1')
        })
      })
    }),
  )
})
