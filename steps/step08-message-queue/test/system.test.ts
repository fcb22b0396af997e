import {
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { Queue, QueueEvents } from 'bullmq'
import Redis from 'ioredis'
import { ROOT } from '../../../shared/steps'
import { counterSum } from '../../../shared/testing/metrics'
import { createLink, newClient, send } from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { createMetrics } from '../src/common/metrics'
import type { LinkEvent } from '../src/queue/events'
import { connectExchanges, RETRIES } from '../src/queue/exchange'
import { startSystem, type System } from '../src/system'
import { admin, fast } from './fast'
import { clicksOf } from './redirects'

const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!
const fromUs = { headers: { 'x-client-region': 'us' } }
const fromAsia = { headers: { 'x-client-region': 'asia' } }

describe('nineteen processes with npm start', () => {
  it('starts the workers beside the queues in asia, each a tier of its own, shows each node’s process figures in its metrics, restarts one killed from a shell, lists dead letters, and Ctrl-C leaves none behind', async () => {
    const started = await npmStart('step08')
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes).toHaveLength(19)
      expect(
        nodes.filter((n) => n.tier === 'worker').map((n) => [n.name, n.region]),
      ).toEqual([
        ['click-analytics', 'asia'],
        ['notifications', 'asia'],
        ['audit-log', 'asia'],
      ])
      const link = await createLink(frontDoor)
      expect((await send(frontDoor, `/${link.code}`)).status).toBe(302)
      await waitFor('the click to be counted', async () => {
        const details = await send(frontDoor, `/api/links/${link.code}`)
        return details.json?.clicks === 1
      })
      // Every node shows what its process costs.
      const measured = {
        app: '/metrics',
        database: '/metrics',
        worker: '/metrics',
        monitor: '/metrics',
        wan: '/metrics',
        edge: '/_edge/metrics',
        'load-balancer': '/_lb/metrics',
        'global-balancer': '/_lb/metrics',
      }
      const roles = new Set(nodes.map((node) => node.role))
      expect(Object.keys(measured).filter((role) => !roles.has(role))).toEqual(
        [],
      )
      for (const node of nodes) {
        const path = measured[node.role as keyof typeof measured]
        if (!path) continue
        const figures = (await send(node.url, path)).json.process
        expect(figures).toMatchObject({ pid: node.pid })
        expect(figures.cpuMs).toBeGreaterThan(0)
        expect(figures.latency.counts).toHaveLength(13)
      }
      const door = nodes.find((n) => n.frontDoor)!
      const { process: doorFigures } = (await send(door.url, '/_edge/metrics'))
        .json
      // The create, the redirect and the polls for the click at least.
      expect(doorFigures.requests).toBeGreaterThanOrEqual(3)
      // A worker killed from a shell: the supervisor starts it again.
      const worker = nodes.find((n) => n.name === 'notifications')!
      process.kill(worker.pid, 'SIGKILL')
      await waitFor('the supervisor to restart notifications', () =>
        started.output().includes('[notifications] died (SIGKILL)'),
      )
      await waitFor('notifications to answer again', async () => {
        const reply = await send(worker.url, '/healthz').catch(() => undefined)
        return reply?.status === 200
      })
      const listed = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'shared/cli/dead-letters.ts', 'step08'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, RUN_DIR: dirname(started.runFile) },
        },
      )
      expect(listed.stdout).toContain('click-analytics: 0 dead letters')
      expect(listed.stdout).toContain('notifications: 0 dead letters')
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((n) => isAlive(n.pid))).toBe(false)
  })
})

describe('events through the exchanges to the workers', () => {
  const data = tempDir()
  let system: System
  let redis: Redis
  const queue = (name: string) => new Queue(name, { connection: redis })
  beforeAll(async () => {
    system = await startSystem({ ...fast, dataDir: data.path })
    redis = new Redis(node(system, 'redis-asia').url, {
      maxRetriesPerRequest: null,
    })
  })
  afterAll(async () => {
    redis.disconnect()
    await system.close()
    data.remove()
  })

  it('counts exactly N clicks after N redirects through both edges, once the worker caught up', async () => {
    const link = await createLink(system.url)
    const redirects = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(
          node(system, i % 2 ? 'edge-us' : 'edge-asia').url,
          `/${link.code}`,
          i % 3 ? fromUs : fromAsia,
        ),
      ),
    )
    expect(redirects.every((reply) => reply.status === 302)).toBe(true)
    await waitFor(
      '40 clicks',
      async () => (await clicksOf(system, link.code)) >= 40,
    )
    const details = await send(system.url, `/api/links/${link.code}`)
    expect(details.json).toMatchObject({ clicks: 40 })
    expect(typeof details.json.clicksLagMs).toBe('number')
  })

  it('writes one outbox email per created link, and every event once to the audit log', async () => {
    const client = newClient()
    const links = [
      await client.createLink(system.url),
      await client.createLink(node(system, 'edge-asia').url),
    ]
    await client.send(system.url, `/${links[0]!.code}`)
    const deleted = await client.send(
      system.url,
      `/api/links/${links[1]!.code}`,
      {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${links[1]!.deleteToken}` },
      },
    )
    expect(deleted.status).toBe(204)
    const audited = () =>
      readFileSync(join(data.path, 'audit.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as LinkEvent)
        .filter((event) => links.some((link) => link.code === event.code))
    await waitFor('four events in the audit log', () => audited().length >= 4)
    const events = audited()
    expect(events.map((e) => [e.code, e.type]).sort()).toEqual(
      [
        [links[0]!.code, 'link.clicked'],
        [links[0]!.code, 'link.created'],
        [links[1]!.code, 'link.created'],
        [links[1]!.code, 'link.deleted'],
      ].sort(),
    )
    expect(new Set(events.map((e) => e.id)).size).toBe(4)

    const outbox = join(data.path, 'outbox')
    const emailsFor = (code: string) =>
      readdirSync(outbox)
        .map((file) => readFileSync(join(outbox, file), 'utf8'))
        .filter((email) => email.includes(`/${code} `))
    await waitFor('both emails', () =>
      links.every((link) => emailsFor(link.code).length > 0),
    )
    for (const link of links) {
      expect(emailsFor(link.code)).toHaveLength(1)
      expect(emailsFor(link.code)[0]).toContain(
        'Subject: Your short link is ready',
      )
    }
  })

  it('counts an event delivered twice once: the event id is recorded with the count', async () => {
    const link = await createLink(system.url)
    const event: LinkEvent = {
      id: `twice-${link.code}`,
      type: 'link.clicked',
      code: link.code,
      at: Date.now(),
    }
    const clicks = queue('clicks')
    // Two jobs, as a redelivery would be: the second after the first is done.
    await clicks.add('link.clicked', event, { jobId: `${event.id}-a` })
    await waitFor(
      'the first delivery',
      async () => (await clicksOf(system, link.code)) === 1,
    )
    await clicks.add('link.clicked', event, { jobId: `${event.id}-b` })
    await waitFor(
      'the second delivery to be done',
      async () => (await clicks.getJobState(`${event.id}-b`)) === 'completed',
    )
    await clicks.close()
    expect(await clicksOf(system, link.code)).toBe(1)
  })

  it('retries a poison message with growing delays, then sets it aside as a dead letter while the clicks behind it are counted', async () => {
    const link = await createLink(system.url)
    const clicks = queue('clicks')
    // Published as an app server publishes: the job gets the step's own
    // attempts and back-off, whatever they are.
    const exchanges = connectExchanges({ redis, metrics: createMetrics() })
    // BullMQ leaves a connection it is given open: this one is ours to end.
    const listening = redis.duplicate()
    const events = new QueueEvents('clicks', { connection: listening })
    await events.waitUntilReady()
    const retriedAt: number[] = []
    events.on('delayed', ({ jobId }) => {
      if (jobId === `poison-${link.code}`) retriedAt.push(Date.now())
    })
    try {
      const poison = {
        id: `poison-${link.code}`,
        code: 'not a code!',
        type: 'link.clicked',
        at: 1,
      }
      await exchanges.publish('link-events', 'link.clicked', poison)
      for (let i = 0; i < 10; i++) await send(system.url, `/${link.code}`)
      await waitFor(
        'the clicks behind it',
        async () => (await clicksOf(system, link.code)) === 10,
      )
      const worker = node(system, 'click-analytics').url
      const dead = await waitFor('the dead letter', async () => {
        const reply = await send(worker, '/dead-letters', { headers: admin })
        return reply.json?.dead?.find(
          (letter: { code: string }) => letter.code === 'not a code!',
        )
      })
      expect(dead.failedReason).toBe('not a link event')
      // The worker counted what became of each failed attempt.
      await waitFor('the failures to be counted', async () => {
        const { counters } = (await send(worker, '/metrics')).json
        return (
          counters['queue.dead_letters'] >= 1 &&
          counters['queue.retries'] >= RETRIES.attempts - 1
        )
      })
      // The policy the app servers' clicks were published with, and so
      // the poison's: N attempts, exponential back-off.
      const counted = (await clicks.getCompleted()).find(
        (job) => (job.data as LinkEvent).code === link.code,
      )
      expect(counted?.opts).toMatchObject({
        attempts: RETRIES.attempts,
        backoff: { type: 'exponential', delay: RETRIES.backoffMs },
      })
      // N - 1 retries, after 200, 400, 800... ms: the time from one
      // retry's failure to the next is at least the growing delay.
      await waitFor(
        'every retry',
        () => retriedAt.length >= RETRIES.attempts - 1,
      )
      expect(retriedAt).toHaveLength(RETRIES.attempts - 1)
      const gaps = retriedAt.slice(1).map((at, i) => at - retriedAt[i]!)
      gaps.forEach((gap, i) =>
        expect(gap).toBeGreaterThanOrEqual(RETRIES.backoffMs * 2 ** i - 20),
      )
      const metrics = await send(worker, '/metrics')
      expect(metrics.json.queues.clicks.dead).toBeGreaterThanOrEqual(1)
    } finally {
      await events.close()
      listening.disconnect()
      await exchanges.close()
      await clicks.close()
    }
  })

  it('re-drives the dead letters once the cause is fixed: emails that failed while the outbox was broken are sent', async () => {
    const outbox = join(data.path, 'outbox')
    const notifications = node(system, 'notifications').url
    // The outbox broken: a file where the folder should be.
    rmSync(outbox, { recursive: true, force: true })
    writeFileSync(outbox, 'not a folder')
    try {
      const link = await createLink(system.url)
      await waitFor(
        'the email to be a dead letter',
        async () => {
          const reply = await send(notifications, '/dead-letters', {
            headers: admin,
          })
          return reply.json?.dead?.some(
            (letter: { code: string }) => letter.code === link.code,
          )
        },
        { timeoutMs: 20_000 },
      )
      rmSync(outbox)
      const redriven = await send(notifications, '/dead-letters/redrive', {
        method: 'POST',
        headers: admin,
      })
      expect(redriven.json.redriven).toBeGreaterThanOrEqual(1)
      await waitFor(
        'the email',
        () =>
          existsSync(outbox) &&
          readdirSync(outbox).some((file) =>
            readFileSync(join(outbox, file), 'utf8').includes(`/${link.code} `),
          ),
      )
    } finally {
      if (existsSync(outbox) && !statSync(outbox).isDirectory()) rmSync(outbox)
    }
  })

  it('shows each queue at work on its worker: depth, oldest waiting age, processed, retries and dead letters', async () => {
    const reply = await send(node(system, 'click-analytics').url, '/metrics')
    expect(reply.json.queues.clicks).toEqual(
      expect.objectContaining({
        waiting: expect.any(Number),
        active: expect.any(Number),
        delayed: expect.any(Number),
        dead: expect.any(Number),
        oldestWaitingMs: expect.any(Number),
        processedPerSecond: expect.any(Number),
      }),
    )
    expect(reply.json.counters['queue.processed']).toBeGreaterThan(0)
    expect(await counterSum(system.nodes, 'events.published')).toBeGreaterThan(
      0,
    )
  })

  it('refuses the dead-letter endpoints without the admin token', async () => {
    const worker = node(system, 'click-analytics').url
    expect((await send(worker, '/dead-letters')).status).toBe(401)
    const wrong = { headers: { Authorization: 'Bearer wrong' } }
    expect(
      (
        await send(worker, '/dead-letters/redrive', {
          method: 'POST',
          ...wrong,
        })
      ).status,
    ).toBe(401)
  })
})
