import { join } from 'node:path'
import { someAsProcesses } from '../../../shared/launcher'
import { createLink, newClient, send } from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { startTraffic } from '../../../shared/testing/traffic'
import { waitFor } from '../../../shared/wait-for'
import { roles } from '../src/roles'
import { startSystem, type System, type SystemOptions } from '../src/system'

const fast: Omit<SystemOptions, 'dataDir'> = {
  healthIntervalMs: 100,
  monitorIntervalMs: 100,
  farDelayMs: 10,
  nearDelayMs: 1,
  edgeRateLimit: false,
}
const url = (system: System, name: string) =>
  system.nodes.find((node) => node.name === name)!.url
const originRequests = async (edge: string) =>
  (await send(edge, '/_edge/metrics')).json.counters['edge.origin_requests'] ??
  0

describe('the CDN as real processes', () => {
  it('starts twelve processes with npm start, edge-us as the front door, and Ctrl-C leaves none behind', async () => {
    const started = await npmStart('step06', { REDIS_URL: '' })
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes.map((node) => node.name)).toEqual([
        'edge-us',
        'edge-asia',
        'wan',
        'load-balancer',
        'app-1',
        'app-2',
        'app-3',
        'redis',
        'monitor',
        'db-1',
        'db-2',
        'db-3',
      ])
      expect(frontDoor).toBe(nodes[0]!.url)
      const link = await createLink(frontDoor)
      expect(link.shortUrl).toBe(`${frontDoor}/${link.code}`)
      const redirect = await send(frontDoor, `/${link.code}`)
      expect([redirect.status, redirect.headers.get('x-edge')]).toEqual([
        302,
        'edge-us',
      ])
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  it('keeps serving through edge-asia while edge-us is SIGKILLed under load', async () => {
    const data = tempDir()
    // The edges as real processes (to SIGKILL one), the rest in-process.
    const launch = someAsProcesses(
      roles,
      join(__dirname, '..', 'src', 'main.ts'),
      (role) => role === 'edge',
    )
    const system = await startSystem({ ...fast, dataDir: data.path }, launch)
    try {
      const traffic = await startTraffic(url(system, 'edge-asia'))
      await traffic.more(20)
      await system.nodes
        .find((node) => node.name === 'edge-us')!
        .kill('SIGKILL')
      await expect(fetch(url(system, 'edge-us'))).rejects.toThrow()
      await traffic.more(40)
      await traffic.stop()
      expect(traffic.failures).toEqual([])
    } finally {
      await system.close()
      data.remove()
    }
  })
})

describe('the CDN in front of the origin', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ ...fast, dataDir: data.path })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it('serves an immutable asset from each edge after one origin request: MISS, then HIT with a growing Age', async () => {
    const page = await send(url(system, 'edge-us'), '/')
    const asset = /\/static\/app\.[0-9a-f]+\.css/.exec(page.body)![0]
    for (const name of ['edge-us', 'edge-asia']) {
      const edge = url(system, name)
      const before = await originRequests(edge)
      const first = await send(edge, asset)
      expect(first.headers.get('cache-control')).toBe(
        'public, max-age=31536000, immutable',
      )
      expect(first.headers.get('x-edge-cache')).toBe('MISS')
      const later = await waitFor('the copy to age a second', async () => {
        const reply = await send(edge, asset)
        return Number(reply.headers.get('age')) >= 1 && reply
      })
      expect(later.headers.get('x-edge-cache')).toBe('HIT')
      expect(later.headers.get('cache-status')).toMatch(
        new RegExp(`^${name}; hit; ttl=\\d+$`),
      )
      expect((await originRequests(edge)) - before).toBe(1)
    }
  })

  it('passes redirects and the API straight through, and no cached copy hides a delete', async () => {
    const client = newClient()
    const edge = url(system, 'edge-us')
    const link = await client.createLink(edge)
    for (let i = 0; i < 2; i++) {
      const redirect = await send(edge, `/${link.code}`)
      expect([redirect.status, redirect.headers.get('x-edge-cache')]).toEqual([
        302,
        'PASS',
      ])
      expect(redirect.headers.get('cache-status')).toBe(
        'edge-us; fwd=bypass; fwd-status=302',
      )
    }
    const details = await client.send(edge, `/api/links/${link.code}`)
    expect([
      details.headers.get('x-edge-cache'),
      details.headers.get('cache-control'),
    ]).toEqual(['PASS', 'no-store'])
    const deleted = await client.send(edge, `/api/links/${link.code}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${link.deleteToken}` },
    })
    expect(deleted.status).toBe(204)
    for (const name of ['edge-us', 'edge-asia'])
      expect((await send(url(system, name), `/${link.code}`)).status).toBe(410)
  })

  it('answers a US client without the CDN across the WAN on every request, and through edge-us from its copy', async () => {
    const page = await send(url(system, 'edge-us'), '/')
    const asset = /\/static\/app\.[0-9a-f]+\.js/.exec(page.body)![0]
    // Every direct request crosses the far link both ways: never faster
    // than its round trip (a lower bound, which no slow machine breaks).
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      const direct = await send(system.originFromUs, asset)
      const tookMs = performance.now() - started
      expect([direct.status, direct.headers.get('x-edge')]).toEqual([200, null])
      // (less a millisecond a side: a timer may fire that much early)
      expect(tookMs).toBeGreaterThanOrEqual(2 * fast.farDelayMs! - 2)
    }
    const before = await originRequests(url(system, 'edge-us'))
    for (let i = 0; i < 3; i++) await send(url(system, 'edge-us'), asset)
    expect(
      (await originRequests(url(system, 'edge-us'))) - before,
    ).toBeLessThanOrEqual(1)
  })
})
