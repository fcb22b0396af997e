import { contractTests, publicUrlTests } from '../../../shared/testing/contract'
import { badInputTests } from '../../../shared/testing/bad-input'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem, type System } from '../src/system'

describe('the whole system keeps the shortener contract', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ dataDir: data.path, healthIntervalMs: 100 })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  describe('contract', () => contractTests(() => system.url))
  describe('bad input', () => badInputTests(() => system.url))
})

// As a domain in front of the step would be: the front door has two names.
describe('with PUBLIC_URL naming another address', () => {
  const PUBLIC_URL = 'https://sho.rt'
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({
      dataDir: data.path,
      healthIntervalMs: 100,
      publicUrl: PUBLIC_URL,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  publicUrlTests(() => system.url, PUBLIC_URL)
})
