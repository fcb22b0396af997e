// The monitor's one promise: never two primaries at the same epoch. Here the
// answer to its promotion is lost (the node did promote) and the node then
// stays out of reach, so the monitor promotes another one.
import { createServer, request, type IncomingMessage } from 'node:http'
import { listen, freePort, type Handle } from '../../../shared/net'
import { send } from '../../../shared/testing/http'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { startDbServer } from '../src/database/db-server'
import { startMonitor } from '../src/database/monitor'

const token = 'a-test-token-of-enough-length'
const auth = { Authorization: `Bearer ${token}` }

// A link in front of one node that, once told to, forwards the next
// promotion and loses its answer, and every answer after it, until healed.
async function lossyLink(target: string) {
  let armed = false
  let losing = false
  const held: IncomingMessage[] = []
  const server = createServer((req, res) => {
    if (losing) return void held.push(req)
    if (armed && req.url?.endsWith('/promote')) losing = true
    const upstream = request(`${target}${req.url}`, {
      method: req.method,
      headers: req.headers,
    })
    upstream.on('response', (answer) => {
      if (losing) return void held.push(req) // it happened; no one hears of it
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  const handle = await listen(server)
  return {
    url: handle.url,
    loseFromTheNextPromotion: () => void (armed = true),
    heal: () => void (armed = losing = false),
    close: async () => {
      for (const req of held) req.socket.destroy()
      await handle.close()
    },
  }
}

describe('monitor', () => {
  const data = tempDir()
  const handles: Handle[] = []
  afterAll(async () => {
    for (const handle of handles.reverse()) await handle.close()
    data.remove()
  })

  it('never hands out an epoch twice: a promotion whose answer was lost keeps its epoch, and the next one gets a higher', async () => {
    const primaryUrl = `http://127.0.0.1:${await freePort()}`
    const primary = await startDbServer({
      name: 'db-1',
      port: Number(new URL(primaryUrl).port),
      dataFile: `${data.path}/db-1.db`,
      token,
      replication: { role: 'primary' },
    })
    const replica = (name: string) =>
      startDbServer({
        name,
        dataFile: `${data.path}/${name}.db`,
        token,
        replication: { role: 'replica', primaryUrl },
      })
    const [db2, db3] = [await replica('db-2'), await replica('db-3')]
    handles.push(db2, db3)
    const link = await lossyLink(db2.url)
    handles.push(link)
    const monitor = await startMonitor({
      name: 'monitor',
      token,
      intervalMs: 100,
      fall: 2,
      nodes: [
        { name: 'db-1', url: primary.url },
        { name: 'db-2', url: link.url }, // first in line when seqs tie
        { name: 'db-3', url: db3.url },
      ],
    })
    handles.push(monitor)
    const status = async (url: string) =>
      (await send(url, '/replication/status', { headers: auth })).json
    await waitFor('the monitor to publish db-1', async () => {
      const reply = await send(monitor.url, '/topology', { headers: auth })
      return reply.json?.primary?.name === 'db-1'
    })

    link.loseFromTheNextPromotion()
    await primary.close()
    await waitFor(
      'db-3 to be promoted after db-2 went silent',
      async () => (await status(db3.url)).role === 'primary',
      { timeoutMs: 15_000 },
    )
    const [two, three] = [await status(db2.url), await status(db3.url)]
    expect(two.role).toBe('primary') // the lost answer: it did promote
    expect(three.epoch).toBeGreaterThan(two.epoch)
    // Once db-2 is back in reach, the higher epoch fences it.
    link.heal()
    await waitFor(
      'db-2 to follow db-3',
      async () => {
        const now = await status(db2.url)
        return now.role === 'replica' && now.epoch === three.epoch
      },
      { timeoutMs: 15_000 },
    )
  })
})
