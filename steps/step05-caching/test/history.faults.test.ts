// Long fault runs (npm run test:faults): recorded histories of many clients
// while a node dies, checked as a whole.
import { join } from 'node:path'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import {
  acknowledged,
  recordHistory,
  staleOwnReads,
} from '../../../shared/testing/history'
import { newClient } from '../../../shared/testing/http'
import { normalUnderHostile } from '../../../shared/testing/hostile'
import { tempDir } from '../../../shared/testing/temp'
import { startRedis } from '../../../shared/redis'
import { delay, waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System, type SystemOptions } from '../src/system'

jest.setTimeout(120_000)

const fast: Omit<SystemOptions, 'dataDir'> = {
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
  monitorFall: 3,
  dbTimeoutMs: 500,
}

// Database nodes as real processes (to SIGKILL them), the rest in-process.
function databasesAsProcesses(): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (role) => role === 'database',
  )
}

// After the run, with every fault healed: each acknowledged link answers as
// its last acknowledged operation left it.
async function expectNothingLost(
  system: System,
  operations: Parameters<typeof acknowledged>[0],
) {
  const reader = newClient()
  const wrong: string[] = []
  for (const [code, { deleted }] of acknowledged(operations)) {
    const status = await waitFor(`/${code} to answer`, async () => {
      const reply = await reader.send(system.url, `/${code}`)
      return reply.status < 500 && reply.status
    })
    if (status !== (deleted ? 410 : 302)) wrong.push(`${code}: ${status}`)
  }
  expect(wrong).toEqual([])
}

describe('recorded histories: six clients creating, reading and deleting while a node dies', () => {
  it("keeps every client's own writes and deletes in its reads, and loses nothing acknowledged, while Redis is SIGKILLed", async () => {
    const data = tempDir()
    const redis = await startRedis({ redisUrl: undefined })
    const system = await startSystem({
      ...fast,
      dataDir: data.path,
      redisUrl: redis.url,
    })
    try {
      const history = recordHistory(system.url, 6)
      await delay(4000) // the clients run; this is the test's own timeline
      await redis.kill()
      await delay(4000)
      await redis.restart()
      await delay(4000)
      await history.stop()
      const reads = history.operations.filter((op) => op.kind === 'read')
      expect(reads.length).toBeGreaterThan(30)
      expect(staleOwnReads(history.operations)).toEqual([])
      expect(reads.filter((op) => op.status === 0 || op.status >= 500)).toEqual(
        [],
      )
      await expectNothingLost(system, history.operations)
    } finally {
      await system.close()
      await redis.close()
      data.remove()
    }
  })

  it("keeps every client's own writes and deletes in its reads, and loses nothing acknowledged, while the primary is SIGKILLed (semi-sync)", async () => {
    const data = tempDir()
    const system = await startSystem(
      { ...fast, dataDir: data.path, ackMode: 'semi-sync' },
      databasesAsProcesses(),
    )
    try {
      const history = recordHistory(system.url, 6)
      await delay(4000)
      await system.nodes.find((n) => n.name === 'db-1')!.kill('SIGKILL')
      await delay(8000)
      await history.stop()
      expect(
        history.operations.filter((op) => op.kind === 'read').length,
      ).toBeGreaterThan(30)
      expect(staleOwnReads(history.operations)).toEqual([])
      await expectNothingLost(system, history.operations)
    } finally {
      await system.close()
      data.remove()
    }
  })
})

describe('the deleting client under concurrent readers', () => {
  it('never sees its link after the 204, in 30 repetitions', async () => {
    const data = tempDir()
    const system = await startSystem({ ...fast, dataDir: data.path })
    try {
      const seen: number[] = []
      for (let round = 0; round < 30; round++) {
        const deleter = newClient()
        const link = await deleter.createLink(system.url)
        let reading = true
        const readers = [newClient(), newClient(), newClient()].map(
          async (reader) => {
            while (reading) await reader.send(system.url, `/${link.code}`)
          },
        )
        const deleted = await deleter.send(
          system.url,
          `/api/links/${link.code}`,
          {
            method: 'DELETE',
            headers: { Authorization: `Bearer ${link.deleteToken}` },
          },
        )
        expect(deleted.status).toBe(204)
        for (let i = 0; i < 6; i++)
          seen.push((await deleter.send(system.url, `/${link.code}`)).status)
        reading = false
        await Promise.all(readers)
      }
      expect(seen.filter((status) => status !== 410)).toEqual([])
    } finally {
      await system.close()
      data.remove()
    }
  })
})

describe('hostile traffic', () => {
  it('serves a normal client without a failure through 10 seconds of hostile requests', async () => {
    const data = tempDir()
    const system = await startSystem({ ...fast, dataDir: data.path })
    try {
      expect(await normalUnderHostile(system.url, 10_000)).toEqual({
        failures: [],
        serverErrors: [],
      })
    } finally {
      await system.close()
      data.remove()
    }
  })
})
