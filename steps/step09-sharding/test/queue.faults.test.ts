// Long fault runs (npm run test:faults): the click-analytics worker killed in
// the middle of its batches, the Redis that holds the queues killed under a
// steady stream of redirects, and a buffer too small for the outage.
import { join } from 'node:path'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import { counterSum } from '../../../shared/testing/metrics'
import { createLink, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System, type SystemOptions } from '../src/system'
import { fast } from './fast'
import { clicksOf, steadyRedirects } from './redirects'

jest.setTimeout(180_000)

// The workers as real processes (to SIGKILL one), the rest in-process.
function workersAsProcesses(): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (role) => role === 'worker',
  )
}
const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!
const queueMetrics = async (system: System) =>
  (await send(node(system, 'click-analytics').url, '/metrics')).json?.queues
    ?.clicks as { waiting: number; active: number; delayed: number }

async function withSystem(
  options: Partial<SystemOptions>,
  launch?: Launch<typeof roles>,
) {
  const data = tempDir()
  const system = await startSystem(
    { ...fast, ...options, dataDir: data.path },
    launch,
  )
  return {
    system,
    close: async () => {
      await system.close()
      data.remove()
    },
  }
}

describe('the click-analytics worker killed mid-batch', () => {
  let started: Awaited<ReturnType<typeof withSystem>>
  beforeAll(async () => {
    started = await withSystem({}, workersAsProcesses())
  })
  afterAll(() => started.close())

  it('is restarted by its supervisor, and counts every acknowledged redirect exactly once', async () => {
    const { system } = started
    const link = await createLink(system.url)
    const worker = node(system, 'click-analytics')
    const load = steadyRedirects(system, link.code)
    await waitFor('the worker to be counting', async () => {
      return (await clicksOf(system, link.code)) >= 50
    })
    // Kill it while it holds jobs: a batch in hand, maybe committed but not
    // yet acknowledged. Three times, so that some kill lands in that gap.
    for (let kill = 0; kill < 3; kill++) {
      await waitFor(
        "jobs in the worker's hands",
        async () => (await queueMetrics(system))?.active > 0,
        { intervalMs: 5 },
      )
      const killedPid = worker.pid
      process.kill(killedPid, 'SIGKILL')
      await waitFor(
        'the supervisor to start it again',
        async () =>
          worker.pid !== killedPid &&
          (await send(worker.url, '/healthz').catch(() => undefined))
            ?.status === 200,
      )
      const counted = await clicksOf(system, link.code)
      await waitFor(
        'the worker to count again',
        async () => (await clicksOf(system, link.code)) > counted,
      )
    }
    // Redirects after the restart, too.
    const restarted = load.redirected
    await waitFor(
      'redirects after the restart',
      () => load.redirected >= restarted + 50,
    )
    await load.stop()
    expect(load.failed).toEqual([])
    // Drained: nothing left in the queue, every click counted, none twice.
    await waitFor(
      'the queue to drain',
      async () => {
        const queue = await queueMetrics(system)
        return (
          queue.waiting + queue.active + queue.delayed === 0 &&
          (await clicksOf(system, link.code)) >= load.redirected
        )
      },
      { timeoutMs: 60_000 },
    )
    expect(await clicksOf(system, link.code)).toBe(load.redirected)
  })
})

describe('the Redis that holds the queues killed under steady redirects', () => {
  let started: Awaited<ReturnType<typeof withSystem>>
  beforeAll(async () => {
    started = await withSystem({})
  })
  afterAll(() => started.close())

  it('fails no redirect, buffers the events while it is down, and counts them all once it is back', async () => {
    const { system } = started
    const link = await createLink(system.url)
    const load = steadyRedirects(system, link.code, { paceMs: 5 })
    await waitFor(
      'clicks to be counted',
      async () => (await clicksOf(system, link.code)) >= 20,
    )
    const redis = node(system, 'redis-asia')
    await redis.kill('SIGKILL')
    const down = load.redirected
    await waitFor(
      'redirects while the queues are gone',
      () => load.redirected >= down + 100,
    )
    await redis.restart()
    const back = load.redirected
    await waitFor(
      'redirects once it is back',
      () => load.redirected >= back + 50,
    )
    await load.stop()
    expect(load.failed).toEqual([])
    expect(await counterSum(system.nodes, 'events.dropped')).toBe(0)
    await waitFor(
      'the buffered clicks to be counted',
      async () => (await clicksOf(system, link.code)) >= load.redirected,
      { timeoutMs: 60_000 },
    )
    expect(await clicksOf(system, link.code)).toBe(load.redirected)
  })
})

describe('a buffer too small for the outage', () => {
  let started: Awaited<ReturnType<typeof withSystem>>
  beforeAll(async () => {
    started = await withSystem({ maxBufferedEvents: 20 })
  })
  afterAll(() => started.close())

  it('keeps redirecting, counts what it dropped, and loses nothing else', async () => {
    const { system } = started
    const link = await createLink(system.url)
    const redis = node(system, 'redis-asia')
    await redis.kill('SIGKILL')
    const load = steadyRedirects(system, link.code, { paceMs: 5 })
    await waitFor(
      'events to overflow',
      async () => (await counterSum(system.nodes, 'events.dropped')) > 0,
    )
    await load.stop()
    await redis.restart()
    expect(load.failed).toEqual([])
    const dropped = await counterSum(system.nodes, 'events.dropped')
    expect(dropped).toBeGreaterThan(0)
    await waitFor(
      'the buffered clicks to be counted',
      async () =>
        (await clicksOf(system, link.code)) >= load.redirected - dropped,
      { timeoutMs: 60_000 },
    )
    expect(await clicksOf(system, link.code)).toBe(load.redirected - dropped)
  })
})
