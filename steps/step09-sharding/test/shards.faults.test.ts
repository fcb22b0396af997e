// Long fault runs (npm run test:faults): one shard's primary killed while
// links are created on every shard.
import { join } from 'node:path'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System } from '../src/system'
import { fast } from './fast'
import { roleOf, writeOnEveryShard } from './shard-writes'

jest.setTimeout(180_000)

// shard-1's nodes as real processes (to SIGKILL them), the rest in-process.
function shardOneAsProcesses(): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (_, options) => options.shard === 'shard-1',
  )
}
const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!

describe("a shard's primary lost", () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem(
      { ...fast, dataDir: data.path, ackMode: 'semi-sync' },
      shardOneAsProcesses(),
    )
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('fails shard-1 over to its replica in us, while the other shards never stop taking writes, and loses no acknowledged link', async () => {
    const writes = await writeOnEveryShard(system, {
      prefix: 'lost-primary',
      loops: 3,
    })
    let backAfterMs: number
    try {
      await waitFor('writes on shard-1', () => writes.on('shard-1').length >= 5)
      const killedAt = Date.now()
      await node(system, 'db-s1-asia').kill('SIGKILL')
      await waitFor(
        'the witness to promote db-s1-us',
        async () => (await roleOf(system, 'db-s1-us')) === 'primary',
        { timeoutMs: 15_000 },
      )
      const promotedAt = Date.now()
      await waitFor(
        'shard-1 to take writes again',
        () => writes.on('shard-1', promotedAt).length > 0,
        { timeoutMs: 15_000 },
      )
      backAfterMs = Date.now() - killedAt
      // Writes after the failover, too, before counting what was lost.
      await waitFor(
        'more writes on shard-1 after the failover',
        () => writes.on('shard-1', promotedAt).length >= 5,
      )
    } finally {
      await writes.stop()
    }
    console.info(
      `shard-1 took writes again after ${backAfterMs} ms; ${writes.failed.length} creates failed, all on ${[...new Set(writes.failed.map((f) => f.shard))].join(', ')}`,
    )
    expect(writes.failed.filter((f) => f.shard !== 'shard-1')).toEqual([])
    expect(await writes.lost()).toEqual([])
  })
})
