// The workers: the click counter as a real process, SIGKILLed at the worst
// moment of a batch (counted, not yet acknowledged), under redirects; and a
// worker's start and its dead letters, against a private redis-server.
// The long version, three kills under a steady stream, is in
// queue.faults.test.ts.
import { join } from 'node:path'
import { Queue, Worker } from 'bullmq'
import Redis from 'ioredis'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import type { Handle } from '../../../shared/net'
import { startRedis, type RedisHandle } from '../../../shared/redis'
import { createLink, send } from '../../../shared/testing/http'
import { isAlive } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { createMetrics } from '../src/common/metrics'
import { createDbClient } from '../src/database/db-client'
import { declare, publications, type LinkEvent } from '../src/queue/events'
import { connectExchanges } from '../src/queue/exchange'
import { startWorker } from '../src/queue/worker'
import { roles } from '../src/roles'
import { startSystem, type System } from '../src/system'
import { declarationsIn } from './declarations'
import { admin, adminToken, fast, token } from './fast'
import { clicksOf, steadyRedirects } from './redirects'

jest.setTimeout(90_000)

// The click counter as a real process, to SIGKILL; the rest in-process.
function clickCounterAsProcess(): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (role, options) =>
      role === 'worker' &&
      (options as { kind?: string }).kind === 'click-analytics',
  )
}

const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!

describe('the click-analytics worker, a process SIGKILLed in the middle of a batch', () => {
  const data = tempDir()
  let system: System
  let redis: Redis
  beforeAll(async () => {
    system = await startSystem(
      { ...fast, dataDir: data.path },
      clickCounterAsProcess(),
    )
    redis = new Redis(node(system, 'redis-asia').url, {
      maxRetriesPerRequest: null,
    })
  })
  afterAll(async () => {
    redis.disconnect()
    await system.close()
    data.remove()
  })

  it('counts every acknowledged click exactly once after its supervisor restarts it: the jobs it had counted but not acknowledged come back, and are not counted twice', async () => {
    const link = await createLink(system.url)
    const worker = node(system, 'click-analytics')
    const db = createDbClient({ url: node(system, 'db-asia-1').url, token })
    const exchanges = connectExchanges({ redis, metrics: createMetrics() })
    const clicks = new Queue('clicks', { connection: redis })
    // The jobs in the worker's hands whose clicks are committed already.
    // (BullMQ's list of active jobs; a job's id is its event's id.)
    const countedInHand = async () => {
      const ids = await redis.lrange('bull:clicks:active', 0, -1)
      if (ids.length === 0) return []
      const rows = await db.query<{ event_id: string }>(
        `SELECT event_id FROM click_events WHERE event_id IN (${ids.map(() => '?').join(', ')})`,
        ids,
      )
      return rows.map((row) => row.event_id)
    }
    const load = steadyRedirects(system, link.code, { loops: 2, paceMs: 5 })
    let killedAt = 0
    try {
      await waitFor('the worker to count', async () => {
        return (await clicksOf(system, link.code)) > 0
      })
      // A burst of clicks, published as an app server does: full batches.
      const burst = Array.from({ length: 1500 }, (_, i) => ({
        id: `burst-${link.code}-${i}`,
        type: 'link.clicked' as const,
        code: link.code,
        at: Date.now(),
      }))
      await exchanges.publishAll(burst.flatMap(publications))
      // Freeze the worker, look: a batch committed and not acknowledged?
      // Then SIGKILL it there; else let it go on, and look again.
      const pid = worker.pid
      const inHand = await waitFor(
        'a batch counted but not yet acknowledged',
        async () => {
          process.kill(pid, 'SIGSTOP')
          let inHand: string[] = []
          try {
            await delay(5) // what it had sent reaches Redis
            inHand = await countedInHand()
          } finally {
            if (inHand.length === 0) process.kill(pid, 'SIGCONT')
          }
          if (inHand.length === 0) return undefined
          process.kill(pid, 'SIGKILL')
          killedAt = Date.now()
          return inHand
        },
        { timeoutMs: 30_000, intervalMs: 5 },
      )
      await waitFor('the worker to die', () => !isAlive(pid))
      // Still active: nobody acknowledged them, so they will come back.
      const active = await redis.lrange('bull:clicks:active', 0, -1)
      const redelivered = inHand.filter((id) => active.includes(id))
      expect(redelivered.length).toBeGreaterThan(0)
      await waitFor(
        'its supervisor to start it again',
        async () =>
          worker.pid !== pid &&
          (await send(worker.url, '/healthz').catch(() => undefined))
            ?.status === 200,
        { timeoutMs: 20_000 },
      )
      const counted = await clicksOf(system, link.code)
      await waitFor(
        'the worker to count again',
        async () => (await clicksOf(system, link.code)) > counted,
        { timeoutMs: 20_000 },
      )
      await load.stop()
      expect(load.failed).toEqual([])
      const expected = burst.length + load.redirected
      await waitFor(
        'the queue to drain',
        async () => {
          const counts = await clicks.getJobCounts(
            'waiting',
            'active',
            'delayed',
          )
          return (
            Object.values(counts).every((n) => n === 0) &&
            (await clicksOf(system, link.code)) >= expected
          )
        },
        { timeoutMs: 30_000 },
      )
      expect(await clicksOf(system, link.code)).toBe(expected)
      // Delivered again after the kill (at least once), counted once.
      for (const id of redelivered) {
        const job = await clicks.getJob(id)
        expect(await job?.getState()).toBe('completed')
        expect(job?.processedOn).toBeGreaterThan(killedAt)
      }
    } finally {
      await load.stop()
      await clicks.close()
      await exchanges.close()
      db.close()
    }
  })
})

describe('a worker, at start and with its dead letters', () => {
  const data = tempDir()
  let server: RedisHandle
  let redis: Redis
  const started: Handle[] = []
  const start = async () => {
    const worker = await startWorker({
      name: 'audit-log',
      kind: 'audit-log',
      redisUrl: server.url,
      dataDir: data.path,
      publicUrl: 'http://127.0.0.1:1',
      adminToken,
    })
    started.push(worker)
    return worker
  }
  beforeAll(async () => {
    server = await startRedis({ redisUrl: undefined })
    redis = new Redis(server.url, { maxRetriesPerRequest: null })
  })
  beforeEach(() => redis.flushall())
  afterEach(() => Promise.all(started.splice(0).map((w) => w.close())))
  afterAll(async () => {
    redis.disconnect()
    await server.close()
    data.remove()
  })

  it('declares the exchanges and bindings when it starts, before any message', async () => {
    await start()
    await declarationsIn(redis)
  })

  it('lists a job as a dead letter the moment its last attempt failed, even when the worker that failed it died before doing anything else, and re-drives it with its attempts anew', async () => {
    const event: LinkEvent = {
      id: 'audit-me',
      type: 'link.created',
      code: 'abc',
      at: Date.now(),
    }
    // Another consumer fails the job's last attempt, and is gone: no code
    // of its ran after BullMQ's own script moved the job.
    const audit = new Queue('audit', { connection: redis })
    const exchanges = connectExchanges({ redis, metrics: createMetrics() })
    const failingConnection = redis.duplicate()
    const failing = new Worker(
      'audit',
      async () => {
        throw new Error('the disk is full')
      },
      { connection: failingConnection },
    )
    try {
      await declare(exchanges)
      await exchanges.publish('audit', event.type, event)
      await waitFor(
        'the last attempt to fail',
        async () => (await audit.getJobState(event.id)) === 'failed',
        { timeoutMs: 15_000 },
      )
      await failing.close()
      const worker = await start()
      const letters = await send(worker.url, '/dead-letters', {
        headers: admin,
      })
      expect(letters.json.dead).toEqual([
        { ...event, failedReason: 'the disk is full' },
      ])
      expect((await send(worker.url, '/metrics')).json.queues.audit.dead).toBe(
        1,
      )
      const redriven = await send(worker.url, '/dead-letters/redrive', {
        method: 'POST',
        headers: admin,
      })
      expect(redriven.json).toEqual({ redriven: 1 })
      await waitFor(
        'the job to be done',
        async () => (await audit.getJobState(event.id)) === 'completed',
      )
      const job = await audit.getJob(event.id)
      expect(job?.attemptsMade).toBe(1)
      expect(
        (await send(worker.url, '/dead-letters', { headers: admin })).json.dead,
      ).toEqual([])
    } finally {
      await failing.close()
      failingConnection.disconnect()
      await exchanges.close()
      await audit.close()
    }
  })
})
