import { randomBytes } from 'node:crypto'
import { createLink, send } from '../../../shared/testing/http'
import { startTcpProxy } from '../../../shared/testing/tcp-proxy'
import { tempDir } from '../../../shared/testing/temp'
import { waitFor } from '../../../shared/wait-for'
import { startAppServer } from '../src/app/app-server'
import { startDbServer } from '../src/database/db-server'

describe('app server: draining on SIGTERM', () => {
  it('fails its health check, finishes the requests in flight, then stops', async () => {
    const data = tempDir()
    const token = randomBytes(24).toString('hex')
    const db = await startDbServer({
      name: 'database',
      dataFile: `${data.path}/links.db`,
      token,
    })
    const slowLink = await startTcpProxy(db.url)
    const app = await startAppServer({
      name: 'app-1',
      publicUrl: 'http://short.test',
      dbUrl: slowLink.url,
      dbToken: token,
      drainGraceMs: 300,
    })
    try {
      const link = await createLink(app.url)
      slowLink.delayMs = 200 // every database round trip now takes 400 ms
      const before = slowLink.chunks
      const inFlight = send(app.url, `/${link.code}`)
      await waitFor(
        'the request to reach the database link',
        () => slowLink.chunks > before,
      )

      const closed = app.close()
      const health = await send(app.url, '/healthz')
      expect([health.status, health.json.status]).toEqual([503, 'draining'])
      expect((await inFlight).status).toBe(302)
      await closed
      await expect(send(app.url, '/healthz')).rejects.toThrow()
    } finally {
      await slowLink.close()
      await db.close()
      data.remove()
    }
  })
})
