// A shard's primary lost, the short run for npm test: every node in this
// process, and "killed" is db-s1-asia stopped at once (to the witness and
// the app servers, a node that no longer answers, as after a crash). The
// long run, a SIGKILL of a real process, is in shards.faults.test.ts.
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'
import { fast } from './fast'
import { roleOf, writeOnEveryShard } from './shard-writes'

const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!

describe("a shard's primary stopped, in one process", () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    // Semi-sync: a create is acknowledged once db-s1-us has it too.
    system = await startSystem({
      ...fast,
      dataDir: data.path,
      ackMode: 'semi-sync',
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('fails shard-1 over to its replica in us, while shards 2 and 3 take every write, and loses no acknowledged link', async () => {
    const writes = await writeOnEveryShard(system, {
      prefix: 'stopped-primary',
      loops: 2,
    })
    try {
      await waitFor('writes on shard-1', () => writes.on('shard-1').length >= 3)
      await node(system, 'db-s1-asia').kill()
      const stoppedAt = Date.now()
      await waitFor(
        'the witness to promote db-s1-us',
        async () => (await roleOf(system, 'db-s1-us')) === 'primary',
        { timeoutMs: 10_000 },
      )
      const promotedAt = Date.now()
      await waitFor(
        'shard-1 to take writes again',
        () => writes.on('shard-1', promotedAt).length > 0,
        { timeoutMs: 10_000 },
      )
      // Shards 2 and 3 went on all along.
      for (const shard of ['shard-2', 'shard-3'])
        expect([shard, writes.on(shard, stoppedAt).length > 0]).toEqual([
          shard,
          true,
        ])
    } finally {
      await writes.stop()
    }
    expect(writes.failed.filter((f) => f.shard !== 'shard-1')).toEqual([])
    expect(await writes.lost()).toEqual([])
  })
})
