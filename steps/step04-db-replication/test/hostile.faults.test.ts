// Long fault runs (npm run test:faults).
import { normalUnderHostile } from '../../../shared/testing/hostile'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem } from '../src/system'

jest.setTimeout(60_000)

describe('hostile traffic', () => {
  it('serves a normal client without a failure through 10 seconds of hostile requests', async () => {
    const data = tempDir()
    const system = await startSystem({
      dataDir: data.path,
      healthIntervalMs: 100,
    })
    try {
      expect(await normalUnderHostile(system.url, 10_000)).toEqual({
        failures: [],
        serverErrors: [],
      })
    } finally {
      await system.close()
      data.remove()
    }
  })
})
