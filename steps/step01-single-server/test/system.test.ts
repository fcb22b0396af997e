import { join } from 'node:path'
import { asProcesses } from '../../../shared/launcher'
import { createLink, send } from '../../../shared/testing/http'
import { isAlive, npmStart } from '../../../shared/testing/npm-start'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem } from '../src/system'

describe('the single server as a real process', () => {
  it('starts with npm start, serves a redirect, and Ctrl-C leaves no process behind', async () => {
    const started = await npmStart('step01')
    const { frontDoor, nodes } = started.topology
    try {
      expect(nodes).toEqual([
        expect.objectContaining({
          name: 'app-1',
          role: 'app',
          frontDoor: true,
          url: frontDoor,
        }),
      ])
      const link = await createLink(frontDoor)
      const redirect = await send(frontDoor, `/${link.code}`)
      expect(redirect.status).toBe(302)
      expect(redirect.headers.get('x-served-by')).toBe('app-1')
    } finally {
      await started.stop('ctrl-c')
    }
    expect(nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  it('stops every process when npm receives SIGTERM', async () => {
    const started = await npmStart('step01')
    await started.stop('sigterm')
    expect(started.topology.nodes.some((node) => isAlive(node.pid))).toBe(false)
  })

  it('keeps its links in the SQLite file when the process is killed and restarted', async () => {
    const data = tempDir()
    const system = await startSystem(
      { dataDir: data.path },
      asProcesses(join(__dirname, '..', 'src', 'main.ts')),
    )
    try {
      const link = await createLink(system.url)
      const [app] = system.nodes
      await app!.kill('SIGKILL')
      await expect(send(system.url, `/${link.code}`)).rejects.toThrow()
      await app!.restart()
      const redirect = await send(system.url, `/${link.code}`)
      expect(redirect.status).toBe(302)
      expect(redirect.headers.get('location')).toBe(link.url)
    } finally {
      await system.close()
      data.remove()
    }
  })
})
