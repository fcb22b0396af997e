import { join } from 'node:path'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import { expectError } from '../../../shared/testing/contract'
import { createLink, postJson, send } from '../../../shared/testing/http'
import { counterSum } from '../../../shared/testing/metrics'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { startTraffic } from '../../../shared/testing/traffic'
import { waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System, type SystemOptions } from '../src/system'

const token = 'a-test-token-of-enough-length'
const auth = { Authorization: `Bearer ${token}` }
const fast: Omit<SystemOptions, 'dataDir'> = {
  dbToken: token,
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
  monitorFall: 3,
  dbTimeoutMs: 500,
}

// Database nodes as real processes (to SIGKILL them), the rest in-process.
function databasesAsProcesses(logs: string[]): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (role) => role === 'database',
    { log: (line) => logs.push(line) },
  )
}

async function rows(url: string) {
  const sql = 'SELECT code, url, clicks, deleted_at FROM links ORDER BY code'
  return (await postJson(url, '/query', { sql }, auth)).json.rows
}
// n POSTs in a row through the balancer: round-robin reaches every app.
async function writesSucceed(base: string, n: number) {
  for (let i = 0; i < n; i++) {
    const reply = await postJson(base, '/api/links', {
      url: 'https://example.com/',
    })
    if (reply.status !== 201) return false
  }
  return true
}
const status = async (url: string) =>
  (await send(url, '/replication/status', { headers: auth })).json

describe('replication as real processes', () => {
  it('starts eight processes with npm start, and Ctrl-C leaves none behind', async () => {
    const started = await npmStart('step04')
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes.map((node) => node.name)).toEqual([
        'load-balancer',
        'app-1',
        'app-2',
        'app-3',
        'monitor',
        'db-1',
        'db-2',
        'db-3',
      ])
      const link = await createLink(frontDoor)
      expect((await send(frontDoor, `/${link.code}`)).status).toBe(302)
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  describe('failover in semi-synchronous mode', () => {
    const data = tempDir()
    const logs: string[] = []
    let system: System
    beforeAll(async () => {
      system = await startSystem(
        { ...fast, dataDir: data.path, ackMode: 'semi-sync' },
        databasesAsProcesses(logs),
      )
    })
    afterAll(async () => {
      await system.close()
      data.remove()
    })
    const node = (name: string) => system.nodes.find((n) => n.name === name)!

    it('promotes a replica after a SIGKILL of the primary, takes writes again within 3 s, and loses no acknowledged link', async () => {
      const before = [
        await createLink(system.url),
        await createLink(system.url),
      ]
      const last = await createLink(system.url) // acknowledged just before the kill
      await node('db-1').kill('SIGKILL')
      const killedAt = Date.now()
      await waitFor(
        'a write to succeed again',
        async () =>
          (
            await postJson(system.url, '/api/links', {
              url: 'https://example.com/after',
            })
          ).status === 201,
        { timeoutMs: 3000 },
      )
      expect(Date.now() - killedAt).toBeLessThan(3000)
      for (const link of [...before, last]) {
        expect(
          (await send(system.url, `/${link.code}`)).headers.get('location'),
        ).toBe(link.url)
      }
      const created = await postJson(system.url, '/api/links', {
        url: 'https://example.com/new-primary',
      })
      expect(created.headers.get('x-db')).toMatch(/^primary db-[23]$/)
    })

    it('fences the old primary when it comes back: it refuses stale-epoch writes and follows the new primary', async () => {
      const oldPrimary = node('db-1')
      await oldPrimary.restart()
      const stale = await postJson(
        oldPrimary.url,
        '/execute',
        { sql: 'DELETE FROM links WHERE code = ?', params: ['x'] },
        { ...auth, 'X-Epoch': '1' },
      )
      expectError(stale, 409, 'read_only')
      const newPrimary =
        (await status(node('db-2').url)).role === 'primary'
          ? node('db-2')
          : node('db-3')
      await waitFor('the old primary to follow the new one', async () => {
        const seen = await status(oldPrimary.url)
        return seen.role === 'replica' && seen.primaryUrl === newPrimary.url
      })
      const link = await createLink(system.url)
      await waitFor('the old primary to replicate a new link', async () =>
        (await rows(oldPrimary.url)).some(
          (row: { code: string }) => row.code === link.code,
        ),
      )
    })

    it('serves every request while a replica is killed, and catches it up after its restart with no missing and no duplicated rows', async () => {
      const replica =
        (await status(node('db-3').url)).role === 'replica'
          ? node('db-3')
          : node('db-2')
      const primary = system.nodes.find(
        (n) => n.role === 'database' && n !== replica && n.name !== 'db-1',
      )!
      const traffic = await startTraffic(system.url)
      await traffic.more(30)
      await replica.kill('SIGKILL')
      await traffic.more(30)
      await replica.restart()
      await traffic.more(30)
      await traffic.stop()
      expect(traffic.failures).toEqual([])
      await waitFor('the replica to catch up', async () => {
        const [ours, theirs] = await Promise.all([
          status(replica.url),
          status(primary.url),
        ])
        return ours.appliedSeq === theirs.appliedSeq
      })
      expect(await rows(replica.url)).toEqual(await rows(primary.url))
    })
  })

  describe('failover in asynchronous mode', () => {
    it('can lose a write that was acknowledged before any replica applied it: the documented window', async () => {
      const data = tempDir()
      const system = await startSystem({
        ...fast,
        dataDir: data.path,
        ackMode: 'async',
      })
      try {
        const node = (name: string) =>
          system.nodes.find((n) => n.name === name)!
        const safe = await createLink(system.url)
        await waitFor('both replicas to have the first link', async () => {
          const seqs = await Promise.all(
            ['db-2', 'db-3'].map(
              async (name) => (await status(node(name).url)).appliedSeq,
            ),
          )
          return seqs.every((seq) => seq === 1)
        })
        for (const name of ['db-2', 'db-3']) {
          await send(node(name).url, '/replication/pause', {
            method: 'POST',
            headers: auth,
          })
        }
        const doomed = await createLink(system.url) // 201: acknowledged by the primary alone
        await node('db-1').kill()
        for (const name of ['db-2', 'db-3']) {
          await send(node(name).url, '/replication/resume', {
            method: 'POST',
            headers: auth,
          })
        }
        await waitFor('every app server to write to the new primary', () =>
          writesSucceed(system.url, 6),
        )
        expect((await send(system.url, `/${safe.code}`)).status).toBe(302)
        expectError(
          await send(system.url, `/${doomed.code}`, {
            headers: { cookie: 'none=1' },
          }),
          404,
          'not_found',
        )
      } finally {
        await system.close()
        data.remove()
      }
    })
  })
})

describe('a redirect is a read', () => {
  it('answers every redirect from the replicas while the primary is SIGKILLed, and counts the clicks it could not write as lost', async () => {
    const data = tempDir()
    const logs: string[] = []
    // No failover: the primary stays dead for the whole test.
    const system = await startSystem(
      { ...fast, dataDir: data.path, monitorFall: 1_000_000 },
      databasesAsProcesses(logs),
    )
    try {
      const traffic = await startTraffic(system.url, { posts: false })
      await traffic.more(30)
      await system.nodes.find((n) => n.name === 'db-1')!.kill('SIGKILL')
      await traffic.more(100)
      await traffic.stop()
      expect(traffic.failures).toEqual([])
      expect(await counterSum(system.nodes, 'clicks.lost')).toBeGreaterThan(0)
    } finally {
      await system.close()
      data.remove()
    }
  })
})

describe('a forged sequence number while the primary is away', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    // No failover here: the primary stays away for the whole test.
    system = await startSystem({
      ...fast,
      monitorFall: 10_000,
      dataDir: data.path,
      readWaitMs: 5000,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('caps it at the newest head seen when the primary does not answer, so the read is still served by a replica', async () => {
    const link = await createLink(system.url)
    await waitFor('the replicas to apply the link', async () =>
      (await send(system.url, `/api/links/${link.code}`)).headers
        .get('x-db')
        ?.startsWith('replica'),
    )
    await system.nodes.find((n) => n.name === 'db-1')!.kill()
    const forged = await send(system.url, `/api/links/${link.code}`, {
      headers: { 'X-DB-Seq': '999999999999' },
    })
    expect([forged.status, forged.headers.get('x-db')]).toEqual([
      200,
      expect.stringMatching(/^replica db-[23]/),
    ])
  })
})

describe('sequence numbers and promotions', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({
      ...fast,
      dataDir: data.path,
      readWaitMs: 5000,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })
  const node = (name: string) => system.nodes.find((n) => n.name === name)!

  it("sets no sequence cookie for a click: a redirect is not the client's write", async () => {
    const link = await createLink(system.url)
    const reply = await fetch(`${system.url}/${link.code}`, {
      redirect: 'manual',
    })
    expect(reply.status).toBe(302)
    expect(reply.headers.getSetCookie()).toEqual([])
    expect(reply.headers.get('x-db-seq')).toBeNull()
  })

  it("caps a forged sequence number at the primary's newest, so the read is served by a replica", async () => {
    const link = await createLink(system.url)
    await waitFor('the replicas to apply the link', async () =>
      (await send(system.url, `/api/links/${link.code}`)).headers
        .get('x-db')
        ?.startsWith('replica'),
    )
    const forged = await send(system.url, `/api/links/${link.code}`, {
      headers: { 'X-DB-Seq': '999999999999' },
    })
    expect(forged.status).toBe(200)
    expect(forged.headers.get('x-db')).toMatch(/^replica db-[23]/)
  })

  it('adopts a promotion whose answer it never got, instead of promoting a second replica', async () => {
    await node('db-1').kill()
    // The monitor's own promotion would look like this, had its answer been lost.
    const promoted = await postJson(
      node('db-2').url,
      '/replication/promote',
      { epoch: 2 },
      auth,
    )
    expect(promoted.status).toBe(200)
    await waitFor('db-3 to follow db-2', async () => {
      const db3 = await status(node('db-3').url)
      return db3.primaryUrl === node('db-2').url && db3
    })
    await waitFor('writes to reach db-2', () => writesSucceed(system.url, 3))
    const epochs = await Promise.all(
      ['db-2', 'db-3'].map(
        async (name) => (await status(node(name).url)).epoch,
      ),
    )
    expect(epochs).toEqual([2, 2])
  })
})
