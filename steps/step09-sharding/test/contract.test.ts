import { contractTests } from '../../../shared/testing/contract'
import { badInputTests } from '../../../shared/testing/bad-input'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem, type System } from '../src/system'
import { fast } from './fast'

describe('the whole system keeps the shortener contract, through either edge', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ ...fast, dataDir: data.path })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })
  const edge = (name: string) =>
    system.nodes.find((node) => node.name === name)!.url
  // Clicks are counted by the click-analytics worker: they catch up.
  const eventual = { eventualClicks: true }

  describe('through edge-us: contract', () =>
    contractTests(() => edge('edge-us'), eventual))
  describe('through edge-us: bad input', () =>
    badInputTests(() => edge('edge-us')))
  describe('through edge-asia: contract', () =>
    contractTests(() => edge('edge-asia'), eventual))
  // The bad-input table once: the edges and the global balancer are step
  // 7's, whose suite sends it through both edges and to the global balancer.
})
