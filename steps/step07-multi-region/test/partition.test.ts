// A partition of the WAN: asia's primary cut off from the witness and from
// us. The witness promotes db-us-1 only once the lease it granted has run
// out for sure, so two primaries never take writes at once, even when the
// witness itself restarted just before the cut and forgot its leases.
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

jest.setTimeout(60_000)

const ASIA_CUT_OFF = [
  'witness -> db-asia-1',
  'witness -> db-asia-2',
  'asia -> witness',
  'asia -> db-us-1',
  'us -> db-asia-1',
  'us -> db-asia-2',
]
const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!
const status = async (url: string) =>
  (await send(url, '/replication/status', { headers: auth })).json

// Writes straight to each database node, with the epoch it believes in, until
// us takes one; `partition` cuts asia off. Returns when asia took its last
// write and when us took its first, after the cut.
async function writesAcrossAPartition(
  system: System,
  partition: () => Promise<void>,
) {
  const asia = node(system, 'db-asia-1').url
  const us = node(system, 'db-us-1').url
  const accepted: { node: string; at: number }[] = []
  let running = true
  const writer = async (name: string, url: string) => {
    while (running) {
      const { epoch } = await status(url).catch(() => ({ epoch: 0 }))
      const reply = await postJson(
        url,
        '/execute',
        {
          sql: 'UPDATE links SET clicks = clicks + 1 WHERE code = ?',
          params: ['none'],
        },
        { ...auth, 'X-Epoch': String(epoch) },
      ).catch(() => undefined)
      if (reply?.status === 200) accepted.push({ node: name, at: Date.now() })
      await delay(10)
    }
  }
  const writers = [writer('asia', asia), writer('us', us)]
  try {
    await waitFor('asia to take writes', () =>
      accepted.some((w) => w.node === 'asia'),
    )
    const cutAt = Date.now()
    await partition()
    await waitFor(
      'us to be promoted and take writes',
      () => accepted.some((w) => w.node === 'us'),
      { timeoutMs: 15_000 },
    )
    const at = (name: string) =>
      accepted.filter((w) => w.node === name).map((w) => w.at - cutAt)
    return { lastAsia: Math.max(...at('asia')), firstUs: Math.min(...at('us')) }
  } finally {
    running = false
    await Promise.all(writers)
  }
}

describe('a partition of the WAN', () => {
  const data = tempDir()
  let system: System
  beforeEach(async () => {
    system = await startSystem({ ...fast, dataDir: data.path })
  })
  afterEach(async () => {
    await system.close()
    data.remove()
  })
  const cut = async () => {
    const reply = await postJson(system.wanUrl, '/cut', {
      links: ASIA_CUT_OFF,
    })
    expect(reply.status).toBe(200)
  }

  it('never lets two primaries take writes at once when asia is cut off from the witness and from us', async () => {
    const { lastAsia, firstUs } = await writesAcrossAPartition(system, cut)
    console.info(
      `asia took its last write ${lastAsia} ms after the cut; us its first ${firstUs} ms after`,
    )
    expect(lastAsia).toBeLessThan(firstUs)
  })

  it('never lets two primaries take writes at once when the witness restarts just before the cut: it waits out a lease it may have granted', async () => {
    const witness = node(system, 'witness')
    const { lastAsia, firstUs } = await writesAcrossAPartition(
      system,
      async () => {
        await witness.kill()
        await cut()
        await witness.restart()
      },
    )
    console.info(
      `asia took its last write ${lastAsia} ms after the cut; us its first ${firstUs} ms after`,
    )
    expect(lastAsia).toBeLessThan(firstUs)
    // The restarted witness waited a whole lease before it promoted.
    expect(firstUs).toBeGreaterThanOrEqual(fast.leaseMs!)
  })
})
