import { contractTests, publicUrlSuite } from '../../../shared/testing/contract'
import { badInputTests } from '../../../shared/testing/bad-input'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem, type System } from '../src/system'

describe('the whole system keeps the shortener contract', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ dataDir: data.path })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  describe('contract', () => contractTests(() => system.url))
  describe('bad input', () => badInputTests(() => system.url))
})

publicUrlSuite((publicUrl, dataDir) => startSystem({ dataDir, publicUrl }))
