// A shard's primary lost, the short run for npm test: every node in this
// process, and "killed" is db-s1-asia stopped at once (to the witness and
// the app servers, a node that no longer answers, as after a crash). The
// long run, a SIGKILL of a real process, is in shards.faults.test.ts.
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { buildRing, ownerOf } from '../src/sharding/hash-ring'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

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
    const ring = buildRing((await system.shardMap()).shards)
    const acknowledged: { code: string; url: string; at: number }[] = []
    const failed: { shard: string; what: string }[] = []
    let running = true
    // Aliases, so that each create's shard is known before it is sent.
    const loops = [0, 1].map(async (loop) => {
      for (let n = 0; running; n++) {
        const alias = `stopped-primary-${loop}-${n}`
        const url = `https://example.com/${alias}`
        const reply = await postJson(system.url, '/api/links', {
          url,
          alias,
        }).catch((error: Error) => ({ status: 0, json: error.message }))
        if (reply.status === 201)
          acknowledged.push({ code: alias, url, at: Date.now() })
        else
          failed.push({
            shard: ownerOf(ring, alias),
            what: `${reply.status} ${JSON.stringify(reply.json)}`,
          })
        await delay(5)
      }
    })
    const on = (shard: string, after = 0) =>
      acknowledged.filter(
        (link) => ownerOf(ring, link.code) === shard && link.at > after,
      )
    try {
      await waitFor('writes on shard-1', () => on('shard-1').length >= 3)
      await node(system, 'db-s1-asia').kill()
      const stoppedAt = Date.now()
      await waitFor(
        'the witness to promote db-s1-us',
        async () => {
          const reply = await fetch(
            `${node(system, 'db-s1-us').url}/replication/status`,
            { headers: auth },
          )
          return ((await reply.json()) as { role: string }).role === 'primary'
        },
        { timeoutMs: 10_000 },
      )
      const promotedAt = Date.now()
      await waitFor(
        'shard-1 to take writes again',
        () => on('shard-1', promotedAt).length > 0,
        { timeoutMs: 10_000 },
      )
      // Shards 2 and 3 went on all along.
      for (const shard of ['shard-2', 'shard-3'])
        expect([shard, on(shard, stoppedAt).length > 0]).toEqual([shard, true])
    } finally {
      running = false
      await Promise.all(loops)
    }
    expect(failed.filter((f) => f.shard !== 'shard-1')).toEqual([])
    const lost: string[] = []
    for (let i = 0; i < acknowledged.length; i += 20)
      await Promise.all(
        acknowledged.slice(i, i + 20).map(async (link) => {
          const reply = await send(system.url, `/api/links/${link.code}`)
          if (reply.json?.url !== link.url)
            lost.push(`${link.code} ${reply.status}`)
        }),
      )
    expect(lost).toEqual([])
  })
})
