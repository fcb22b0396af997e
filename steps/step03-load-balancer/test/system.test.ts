import { join } from 'node:path'
import { asProcesses } from '../../../shared/launcher'
import { createLink, send } from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { startTraffic } from '../../../shared/testing/traffic'
import { waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'

describe('load balancer and app servers as real processes', () => {
  it('starts five processes with npm start, and Ctrl-C leaves no process behind', async () => {
    const started = await npmStart('step03')
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes.map((node) => [node.name, node.role])).toEqual([
        ['load-balancer', 'load-balancer'],
        ['app-1', 'app'],
        ['app-2', 'app'],
        ['app-3', 'app'],
        ['database', 'database'],
      ])
      expect(nodes.find((node) => node.frontDoor)?.name).toBe('load-balancer')
      const link = await createLink(frontDoor)
      expect((await send(frontDoor, `/${link.code}`)).status).toBe(302)
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  describe('faults under a steady stream of requests', () => {
    const data = tempDir()
    const logs: string[] = []
    let system: System
    beforeAll(async () => {
      const launch = asProcesses(join(__dirname, '..', 'src', 'main.ts'), {
        log: (line) => logs.push(line),
      })
      system = await startSystem(
        { dataDir: data.path, healthIntervalMs: 100, rise: 2, fall: 2 },
        launch,
      )
    })
    afterAll(async () => {
      await system.close()
      data.remove()
    })
    const app = (name: string) =>
      system.nodes.find((node) => node.name === name)!

    it('hides a killed app server from every client, ejects it, and takes it back after `rise` passed checks', async () => {
      const traffic = await startTraffic(system.url, { posts: false })
      await traffic.more(30)
      const victim = app('app-2')
      await victim.kill('SIGKILL')
      await waitFor('the balancer to take app-2 down', () =>
        logs.some((line) => line.includes(`${victim.url} is DOWN`)),
      )
      const servedBefore = traffic.servedBy.get('app-2') ?? 0
      await traffic.more(60)
      expect(traffic.servedBy.get('app-2') ?? 0).toBe(servedBefore)

      await victim.restart()
      await waitFor('app-2 to rejoin after its passed checks', () =>
        logs.some((line) => line.includes(`${victim.url} is UP`)),
      )
      await waitFor(
        'app-2 to serve again',
        () => (traffic.servedBy.get('app-2') ?? 0) > servedBefore,
      )
      await traffic.stop()
      expect(traffic.failures).toEqual([])
    })

    it('restarts all three app servers one at a time under GETs and POSTs with zero failed requests', async () => {
      const traffic = await startTraffic(system.url)
      await traffic.more(20)
      for (const name of ['app-1', 'app-2', 'app-3']) {
        await app(name).restart() // SIGTERM: drain, exit, start again
        const served = traffic.servedBy.get(name) ?? 0
        await waitFor(
          `${name} to serve again`,
          () => (traffic.servedBy.get(name) ?? 0) > served,
        )
      }
      await traffic.stop()
      expect(traffic.failures).toEqual([])
      expect(traffic.created.length).toBeGreaterThan(10)
      for (const link of traffic.created) {
        const redirect = await send(system.url, `/${link.code}`)
        expect(redirect.headers.get('location')).toBe(link.url)
      }
    })
  })
})
