// The exercise: the read/write router. `npm test -- step04` runs these
// against exercises/; each failure names the hint to read.
import { hinted } from '../../../shared/testing/hint'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import type { Topology } from '../src/database/monitor'
// The router under test, loaded now: the app servers load it only as they
// start, and a copy that cannot load must fail here, before any node runs.
import '../src/database/replicated-store'
import { startSystem, type System } from '../src/system'

const token = 'a-test-token-of-enough-length'
const noCookies = { cookie: 'none=1' } // a client that forgets its session
const auth = { Authorization: `Bearer ${token}` }

// A read with a deadline: one that waits forever fails the test with what it
// saw ("no answer"), instead of hanging it. A good answer takes at most
// `readWaitMs` (100 ms) and a few hops; 2 s leaves room for a loaded machine.
const READ_DEADLINE_MS = 2000
async function read(base: string, path: string, headers = {}) {
  try {
    const reply = await send(base, path, {
      headers,
      signal: AbortSignal.timeout(READ_DEADLINE_MS),
    })
    const header = (name: string) => reply.headers.get(name) ?? 'none'
    return { status: reply.status, db: header('x-db'), to: header('location') }
  } catch {
    const status = `no answer within ${READ_DEADLINE_MS / 1000} s`
    return { status, db: 'none', to: 'none' }
  }
}

// The deadlines of the waits on the learner's router. The monitor and the
// app servers poll every 50 ms, so a good answer is there in a few hundred
// ms at most; a wrong one waits out the whole deadline, in every test that
// waits, so 10 s each would keep the learner waiting for a red run. The
// waits on the databases and the monitor keep the default.
const APPS_FOLLOW_MS = 1000 // the monitor already shows what they must do
const POOL_SETTLES_MS = 2000
const POOL_CHANGES_MS = 3000 // leaving or rejoining waits on the 300 ms lag limit

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
    await system?.close()
    data.remove()
  })
  const db = (name: string) => system.nodes.find((node) => node.name === name)!
  const admin = (name: string, action: 'pause' | 'resume') =>
    send(db(name).url, `/replication/${action}`, {
      method: 'POST',
      headers: auth,
    })
  const monitorNode = () => system.nodes.find((n) => n.name === 'monitor')!
  // The monitor's view of one replica, as the app servers get it.
  const monitorSees = async (name: string) => {
    const reply = await send(monitorNode().url, '/topology', { headers: auth })
    return (reply.json as Topology).replicas.find((r) => r.name === name)
  }
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
      const reply = await read(system.url, `/api/links/${code}`, headers)
      expect(reply.status).toBe(200)
      served.push(reply.db.split(';')[0]!)
    }
    return served
  }

  // Which node served each read, or the status of a read that failed.
  const servedBy = async (code: string, times: number, base = system.url) => {
    const served: string[] = []
    for (let i = 0; i < times; i++) {
      const reply = await read(base, `/api/links/${code}`, noCookies)
      served.push(
        reply.status === 200 ? reply.db.split(';')[0]! : `HTTP ${reply.status}`,
      )
    }
    return served
  }
  // Waits (briefly) until `served()` meets `wanted`, or a read fails.
  const settle = (
    what: string,
    served: () => Promise<string[]>,
    wanted: (s: string[]) => boolean,
  ) => {
    let last: string[] = []
    return waitFor(
      what,
      async () => {
        last = await served()
        return wanted(last) || last.some((node) => node.startsWith('HTTP'))
      },
      { timeoutMs: POOL_SETTLES_MS },
    ).then(
      () => last,
      () => last,
    )
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
            auth,
          )
          return reply.json?.rows?.length === 1
        }),
      )
      return found.every(Boolean)
    })

  // Reads of this link come from a replica. Once both have applied it and
  // the monitor has both in the read pool (the databases' part, not the
  // router's), the app servers follow within a poll or two. A read that
  // fails fails the test at once; one from the primary is tried again.
  const aReplicaServes = async (code: string) => {
    await bothReplicasHave(code)
    await waitFor('the monitor to see both replicas in the pool', async () => {
      const seen = await Promise.all(['db-2', 'db-3'].map(monitorSees))
      return seen.every((replica) => replica?.reachable && replica.lagMs <= 300)
    })
    const served = await readsFrom(code, 1, noCookies)
    if (served[0]!.startsWith('replica')) return
    await waitFor(
      'a replica to serve the link',
      async () =>
        (await readsFrom(code, 1, noCookies))[0]!.startsWith('replica'),
      { timeoutMs: APPS_FOLLOW_MS },
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
          const redirect = await read(system.url, `/${created.json.code}`)
          expect([redirect.status, redirect.to]).toEqual([
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
          const reply = await read(
            system.url,
            `/api/links/${created.json.code}`,
          )
          expect(reply.status).toBe(410)
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
        await waitFor(
          'the apps to see the lag',
          async () => {
            const served = await readsFrom(created.json.code, 4, noCookies)
            return served.every((node) => node === 'replica db-3')
          },
          { timeoutMs: POOL_CHANGES_MS },
        )
      })
      await waitFor(
        'db-2 to rejoin the read pool',
        async () =>
          (await readsFrom(created.json.code, 4, noCookies)).includes(
            'replica db-2',
          ),
        { timeoutMs: POOL_CHANGES_MS },
      )
    }),
  )

  it(
    'reads from the primary when no replica is in the pool',
    hinted('Hint 1: the read pool', async () => {
      const created = await create()
      await aReplicaServes(created.json.code)
      await whilePaused(['db-2', 'db-3'], async () => {
        await create()
        await waitFor(
          'both replicas to leave the read pool',
          async () => {
            const served = await readsFrom(created.json.code, 3, noCookies)
            return served.every((node) => node === 'primary db-1')
          },
          { timeoutMs: POOL_CHANGES_MS },
        )
      })
    }),
  )
  it(
    'takes the replicas of the read pool in turn on each app server',
    hinted('Hint 2: read-your-writes', async () => {
      const created = await create()
      await bothReplicasHave(created.json.code)
      // One app server, asked directly: its own turns, not the balancer's.
      const app1 = system.nodes.find((node) => node.name === 'app-1')!.url
      const served = await settle(
        'app-1 to take the replicas in turn',
        () => servedBy(created.json.code, 4, app1),
        ([a, b, c, d]) => a !== b && a === c && b === d,
      )
      const [first = '', second = ''] = served
      expect(served).toEqual([first, second, first, second])
      expect([first, second].sort()).toEqual(['replica db-2', 'replica db-3'])
    }),
  )

  it(
    'leaves a replica out of the read pool once the monitor cannot reach it',
    hinted('Hint 1: the read pool', async () => {
      const created = await create()
      await bothReplicasHave(created.json.code)
      await db('db-3').kill()
      try {
        await waitFor(
          'the monitor to find db-3 unreachable',
          async () => (await monitorSees('db-3'))?.reachable === false,
        )
        const served = await settle(
          'the reads to come from db-2 only',
          () => servedBy(created.json.code, 4),
          (nodes) => nodes.every((node) => node === 'replica db-2'),
        )
        expect(served).toEqual(Array(4).fill('replica db-2'))
      } finally {
        await db('db-3').restart()
        await waitFor('db-3 to be back in the read pool', async () => {
          const seen = await monitorSees('db-3')
          return seen?.reachable && seen.lagMs === 0
        })
      }
    }),
  )

  it(
    'answers a client with a session when a replica in the pool stops answering',
    hinted('Hint 2: read-your-writes', async () => {
      const created = await create() // the client's cookie now holds its seq
      await bothReplicasHave(created.json.code)
      // Without the monitor, the app servers keep their last topology: db-3
      // stays in their read pool though it no longer answers.
      await monitorNode().kill()
      await db('db-3').kill()
      try {
        // Up to the first read that fails: a router that waits on db-3 for
        // ever is red after one read deadline, not six.
        const statuses: (number | string)[] = []
        for (let i = 0; i < 6; i++) {
          const { status } = await read(
            system.url,
            `/api/links/${created.json.code}`,
          )
          statuses.push(status)
          if (status !== 200) break
        }
        expect(statuses).toEqual(Array(6).fill(200))
      } finally {
        await db('db-3').restart()
        await monitorNode().restart()
        await waitFor('db-3 to be back in the read pool', async () => {
          const seen = await monitorSees('db-3').catch(() => undefined)
          return seen?.reachable && seen.lagMs === 0
        })
      }
    }),
  )
})
