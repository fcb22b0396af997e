import { join } from 'node:path'
import { asProcesses } from '../../../shared/launcher'
import { expectError } from '../../../shared/testing/contract'
import { createLink, send } from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { startSystem, type System } from '../src/system'

describe('app server and database server as real processes', () => {
  it('starts both with npm start, serves a redirect, and Ctrl-C leaves no process behind', async () => {
    const started = await npmStart('step02')
    const { frontDoor, nodes } = started.topology
    try {
      expect(
        nodes.map((node) => [node.name, node.role, node.frontDoor]),
      ).toEqual([
        ['app-1', 'app', true],
        ['database', 'database', false],
      ])
      const link = await createLink(frontDoor)
      expect((await send(frontDoor, `/${link.code}`)).status).toBe(302)
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  describe('faults', () => {
    const data = tempDir()
    let system: System
    beforeAll(async () => {
      const launch = asProcesses(join(__dirname, '..', 'src', 'main.ts'))
      system = await startSystem(
        { dataDir: data.path, dbTimeoutMs: 500 },
        launch,
      )
    })
    afterAll(async () => {
      await system.close()
      data.remove()
    })
    const node = (role: string) => system.nodes.find((n) => n.role === role)!

    it('keeps every link when the app server process is killed and restarted', async () => {
      const links = [await createLink(system.url), await createLink(system.url)]
      await node('app').kill('SIGKILL')
      await node('app').restart()
      for (const link of links) {
        expect(
          (await send(system.url, `/${link.code}`)).headers.get('location'),
        ).toBe(link.url)
      }
    })

    it('answers 503 JSON while the database process is down, and serves every acknowledged link once it is back', async () => {
      const links = [await createLink(system.url), await createLink(system.url)]
      await node('database').kill('SIGKILL')
      expectError(
        await send(system.url, `/${links[0]!.code}`),
        503,
        'database_unavailable',
      )
      expect((await send(system.url, '/healthz')).status).toBe(200)
      await node('database').restart()
      await waitFor('the app to reach the database again', async () => {
        return (await send(system.url, `/${links[0]!.code}`)).status === 302
      })
      for (const link of links) {
        expect(
          (await send(system.url, `/${link.code}`)).headers.get('location'),
        ).toBe(link.url)
      }
    })
  })
})
