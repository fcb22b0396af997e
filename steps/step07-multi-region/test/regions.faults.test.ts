// Long fault runs (npm run test:faults): a whole data center lost under
// load, and its primary back after the failover. The partitions of the WAN
// are in partition.test.ts (npm test).
import { join } from 'node:path'
import { someAsProcesses, type Launch } from '../../../shared/launcher'
import {
  newClient,
  postJson,
  send,
  uniqueUrl,
} from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { delay, waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System } from '../src/system'
import { auth, fast } from './fast'

jest.setTimeout(180_000)

// asia's nodes as real processes (to SIGKILL them), the rest in-process.
// The edge near Asia is not part of the data center: it stays up.
function asiaAsProcesses(): Launch<typeof roles> {
  return someAsProcesses(
    roles,
    join(__dirname, '..', 'src', 'main.ts'),
    (_, options) => options.region === 'asia',
  )
}
const node = (system: System, name: string) =>
  system.nodes.find((n) => n.name === name)!
const status = async (url: string) =>
  (await send(url, '/replication/status', { headers: auth })).json

describe('losing a whole region', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem(
      { ...fast, dataDir: data.path, ackMode: 'semi-sync' },
      asiaAsProcesses(),
    )
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('keeps redirects working after asia is SIGKILLed under load, takes writes in us within 10 s, and loses no acknowledged link (semi-sync)', async () => {
    const edges = ['edge-us', 'edge-asia'].map((name) => node(system, name).url)
    const known = await Promise.all(
      edges.map((edge) => newClient().createLink(edge)),
    )
    const acknowledged: { code: string; url: string }[] = []
    const failedRedirects: { at: number; what: string }[] = []
    let running = true
    const loops = edges.map(async (edge, i) => {
      const client = newClient()
      for (let n = 0; running; n++) {
        if (n % 3 === 0) {
          const url = uniqueUrl()
          const reply = await client
            .postJson(edge, '/api/links', { url })
            .catch(() => undefined)
          if (reply?.status === 201)
            acknowledged.push({ code: reply.json.code, url })
        } else {
          const reply = await send(edge, `/${known[i]!.code}`).catch(
            (error: Error) => ({ status: 0, body: error.message }),
          )
          if (reply.status !== 302)
            failedRedirects.push({
              at: Date.now(),
              what: `${i ? 'edge-asia' : 'edge-us'} ${reply.status} ${reply.body}`,
            })
        }
        await delay(5) // a steady pace, not a flood
      }
    })
    await waitFor('some writes', () => acknowledged.length >= 10)
    console.info(
      'before the kill',
      JSON.stringify(await status(node(system, 'db-us-1').url)),
      JSON.stringify(await status(node(system, 'db-asia-1').url)),
    )
    const killedAt = Date.now()
    await Promise.all(
      system.nodes
        .filter((n) => n.region === 'asia' && n.role !== 'edge')
        .map((n) => n.kill('SIGKILL')),
    )
    await waitFor(
      'a write to be accepted in us',
      async () =>
        (await postJson(edges[0]!, '/api/links', { url: uniqueUrl() }))
          .status === 201,
      { timeoutMs: 10_000 },
    )
    const writesBackAfterMs = Date.now() - killedAt
    await delay(1000) // redirects after the failover, too
    running = false
    await Promise.all(loops)
    console.info(
      `writes back in us after ${writesBackAfterMs} ms; ${failedRedirects.length} failed redirects`,
    )
    // A bounded burst: redirect failures only around the loss, none after.
    expect(
      failedRedirects.filter(
        ({ at }) => at > killedAt + writesBackAfterMs + 500,
      ),
    ).toEqual([])
    const lost = []
    for (const link of acknowledged) {
      const reply = await send(edges[0]!, `/${link.code}`)
      if (reply.headers.get('location') !== link.url)
        lost.push(
          `${link.code} ${reply.status} ${reply.headers.get('x-db')} ${reply.headers.get('x-cache')} ${reply.body}`,
        )
    }
    expect(lost).toEqual([])
    expect((await status(node(system, 'db-us-1').url)).role).toBe('primary')
  })

  it('fences the old primary when it comes back: it refuses stale-epoch writes, rejoins as a replica, and the regions converge', async () => {
    const old = node(system, 'db-asia-1')
    await old.restart()
    const stale = await postJson(
      old.url,
      '/execute',
      { sql: 'DELETE FROM links WHERE code = ?', params: ['x'] },
      { ...auth, 'X-Epoch': '1' },
    )
    expect(stale.status).toBe(409)
    await waitFor(
      'db-asia-1 to follow the new primary',
      async () => {
        const s = await status(old.url)
        return s.role === 'replica' && s.primary === 'db-us-1'
      },
      { timeoutMs: 20_000 },
    )
    const head = (await status(node(system, 'db-us-1').url)).appliedSeq
    await waitFor(
      'db-asia-1 to catch up',
      async () => (await status(old.url)).appliedSeq >= head,
      { timeoutMs: 20_000 },
    )
    const rows = async (url: string) =>
      (
        await postJson(
          url,
          '/query',
          { sql: 'SELECT code, url, deleted_at FROM links ORDER BY code' },
          auth,
        )
      ).json.rows
    expect(await rows(old.url)).toEqual(await rows(node(system, 'db-us-1').url))
  })
})
