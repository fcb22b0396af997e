// Long fault runs (npm run test:faults): one shard's primary killed while
// links are created on every shard.
import { join } from 'node:path'
import { asProcesses, inProcess, type Launch } from '../../../shared/launcher'
import { postJson, send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { buildRing, ownerOf } from '../src/sharding/hash-ring'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

jest.setTimeout(180_000)

// shard-1's nodes as real processes (to SIGKILL them), the rest in-process.
function shardOneAsProcesses(): Launch<typeof roles> {
  const processes = asProcesses<typeof roles>(
    join(__dirname, '..', 'src', 'main.ts'),
  )
  const local = inProcess(roles)
  return ((role, options) =>
    ((options as { shard?: string }).shard === 'shard-1' ? processes : local)(
      role,
      options,
    )) as Launch<typeof roles>
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
    const ring = buildRing((await system.shardMap()).shards)
    const acknowledged: { code: string; url: string; at: number }[] = []
    const failed: { shard: string; at: number; what: string }[] = []
    let running = true
    // Aliases, so that each create's shard is known before it is sent.
    const loops = [0, 1, 2].map(async (loop) => {
      for (let n = 0; running; n++) {
        const alias = `lost-primary-${loop}-${n}`
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
            at: Date.now(),
            what: `${reply.status} ${JSON.stringify(reply.json)}`,
          })
        await delay(5)
      }
    })
    const onShardOne = () =>
      acknowledged.filter((link) => ownerOf(ring, link.code) === 'shard-1')
    await waitFor('writes on shard-1', () => onShardOne().length >= 5)
    const killedAt = Date.now()
    await node(system, 'db-s1-asia').kill('SIGKILL')
    const role = async () =>
      (
        (await (
          await fetch(`${node(system, 'db-s1-us').url}/replication/status`, {
            headers: auth,
          })
        ).json()) as { role: string }
      ).role
    await waitFor(
      'the witness to promote db-s1-us',
      async () => (await role()) === 'primary',
      { timeoutMs: 15_000 },
    )
    const promotedAt = Date.now()
    await waitFor(
      'shard-1 to take writes again',
      () => onShardOne().some((link) => link.at > promotedAt),
      { timeoutMs: 15_000 },
    )
    const backAfterMs = Date.now() - killedAt
    await delay(500)
    running = false
    await Promise.all(loops)
    console.info(
      `shard-1 took writes again after ${backAfterMs} ms; ${failed.length} creates failed, all on ${[...new Set(failed.map((f) => f.shard))].join(', ')}`,
    )
    expect(failed.filter((f) => f.shard !== 'shard-1')).toEqual([])
    const lost = []
    for (const link of acknowledged) {
      const reply = await send(system.url, `/api/links/${link.code}`)
      if (reply.json?.url !== link.url)
        lost.push(`${link.code} ${reply.status}`)
    }
    expect(lost).toEqual([])
  })
})
