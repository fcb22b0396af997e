import { contractTests } from '../../../shared/testing/contract'
import { badInputTests } from '../../../shared/testing/bad-input'
import { tempDir } from '../../../shared/testing/temp'
import { startSystem, type System } from '../src/system'

describe('the whole system keeps the shortener contract, through either edge', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({
      dataDir: data.path,
      healthIntervalMs: 100,
      monitorIntervalMs: 100,
      wanDelayMs: 5,
      witnessDelayMs: 1,
      edgeRateLimit: false,
    })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })
  const edge = (name: string) =>
    system.nodes.find((node) => node.name === name)!.url

  describe('through edge-us: contract', () =>
    contractTests(() => edge('edge-us')))
  describe('through edge-us: bad input', () =>
    badInputTests(() => edge('edge-us')))
  describe('through edge-asia: contract', () =>
    contractTests(() => edge('edge-asia')))
  // Short URLs name the public address, edge-us, whichever edge made them.
  describe('through edge-asia: bad input', () =>
    badInputTests(
      () => edge('edge-asia'),
      () => edge('edge-us'),
    ))
  // The edges' next hop, as a client that skips the CDN reaches it.
  describe('straight to the global balancer: bad input', () =>
    badInputTests(
      () => edge('global-balancer'),
      () => edge('edge-us'),
    ))
})
