// The exercise: the global routing policy. `npm test -- step07` runs these
// against exercises/; each failure names the hint to ask for.
import { hinted } from '../../../shared/testing/hint'
import { send } from '../../../shared/testing/http'
import { startUpstream, type Upstream } from '../../../shared/testing/upstream'
import { waitFor } from '../../../shared/wait-for'
import {
  chooseRegion,
  type RegionState,
  type RoutingOptions,
} from '../src/region/global-policy'
import { startGlobalBalancer } from '../src/region/global-balancer'

const region = (
  name: string,
  up = true,
  inFlight = 0,
  weight = 1,
): RegionState => ({
  name,
  up,
  inFlight,
  weight,
})
const nearest: RoutingOptions = {
  mode: 'nearest',
  preference: { asia: ['asia', 'eu', 'us'], us: ['us', 'eu', 'asia'] },
  defaultRegion: 'asia',
}
const pick = (
  regions: RegionState[],
  client?: string,
  options = nearest,
  tried?: Set<string>,
) => chooseRegion(regions, client, options, tried)?.name

describe('global policy: the nearest healthy region', () => {
  it(
    'sends each client to its own nearest region while it is up',
    hinted('Hint 1: nearest healthy region', () => {
      const all = [region('asia'), region('eu'), region('us')]
      expect([pick(all, 'asia'), pick(all, 'us')]).toEqual(['asia', 'us'])
    }),
  )

  it(
    "fails over in the client's own order when its nearest region is down",
    hinted('Hint 1: nearest healthy region', () => {
      const usDown = [region('asia'), region('eu'), region('us', false)]
      expect(pick(usDown, 'us')).toBe('eu')
      const usAndEuDown = [
        region('asia'),
        region('eu', false),
        region('us', false),
      ]
      expect(pick(usAndEuDown, 'us')).toBe('asia')
    }),
  )

  it(
    "gives a client of no known region the default region's order, and retries skip what was tried",
    hinted('Hint 1: nearest healthy region', () => {
      const all = [region('us'), region('eu'), region('asia')]
      expect(pick(all, undefined)).toBe('asia')
      expect(pick(all, 'mars')).toBe('asia')
      expect(pick(all, 'us', nearest, new Set(['us']))).toBe('eu')
      expect(
        pick(all, 'us', nearest, new Set(['us', 'eu', 'asia'])),
      ).toBeUndefined()
    }),
  )
})

describe('global policy: fail open', () => {
  it(
    'routes as if every region were up when every health check fails',
    hinted('Hint 2: fail open', () => {
      const allDown = [
        region('asia', false),
        region('eu', false),
        region('us', false),
      ]
      expect(pick(allDown, 'us')).toBe('us')
      expect(pick(allDown, 'us', nearest, new Set(['us']))).toBe('eu')
    }),
  )
})

describe('global policy: least-loaded', () => {
  const leastLoaded = { ...nearest, mode: 'least-loaded' as const }

  it(
    'picks the healthy region with the fewest requests in flight per unit of weight',
    hinted('Hint 3: least-loaded', () => {
      const busy = [
        region('asia', true, 8, 2),
        region('eu', true, 5, 1),
        region('us', true, 3, 1),
      ]
      expect(pick(busy, 'asia', leastLoaded)).toBe('us')
      const weighted = [
        region('asia', true, 8, 4),
        region('eu', true, 5, 1),
        region('us', false, 0, 1),
      ]
      expect(pick(weighted, 'us', leastLoaded)).toBe('asia')
    }),
  )

  it(
    "breaks a tie with the client's nearest region",
    hinted('Hint 3: least-loaded', () => {
      const tied = [
        region('asia', true, 2),
        region('eu', true, 2),
        region('us', true, 2),
      ]
      expect(pick(tied, 'us', leastLoaded)).toBe('us')
      expect(pick(tied, 'asia', leastLoaded)).toBe('asia')
    }),
  )
})

describe('global policy: inside the running global balancer', () => {
  let regions: Upstream[] = []
  afterEach(async () => {
    await Promise.all(regions.map((r) => r.close()))
  })

  it(
    "routes each client to its nearest region, fails over when that region's checks fail, and comes back after rise",
    hinted('Hint 1: nearest healthy region', async () => {
      regions = await Promise.all(
        ['asia', 'us'].map((name) => startUpstream(`${name}-lb`)),
      )
      const [asia, us] = regions as [Upstream, Upstream]
      const glb = await startGlobalBalancer({
        name: 'glb',
        regions: [
          { name: 'asia', url: asia.url },
          { name: 'us', url: us.url },
        ],
        preference: { asia: ['asia', 'us'], us: ['us', 'asia'] },
        defaultRegion: 'asia',
        rise: 2,
        fall: 2,
        healthCheck: { intervalMs: 50, timeoutMs: 100 },
        timeoutMs: 300,
        log: () => {},
      })
      const from = async (client: string) =>
        (
          await send(glb.url, '/x', { headers: { 'x-client-region': client } })
        ).headers.get('x-served-by')
      try {
        expect([await from('us'), await from('asia')]).toEqual([
          'us-lb',
          'asia-lb',
        ])
        us.hang = true // its health checks time out now
        await waitFor(
          'us to fail over to asia',
          async () => (await from('us')) === 'asia-lb',
        )
        // Taken out by its checks, not tried and timed out on each request:
        // us gets none of them while it is down.
        const toUs = () => us.received.filter((r) => r.url === '/x').length
        const sent = toUs()
        for (let i = 0; i < 5; i++) expect(await from('us')).toBe('asia-lb')
        expect(toUs()).toBe(sent)
        us.hang = false
        await waitFor(
          'us to come back after rise',
          async () => (await from('us')) === 'us-lb',
        )
      } finally {
        await glb.close()
      }
    }),
  )
})
