import { requestPath, type TopologyNode } from './topology'

const node = (
  name: string,
  tier: string,
  region?: string,
  role = tier,
): TopologyNode => ({
  name,
  role,
  tier,
  ...(region ? { region } : {}),
  url: 'http://127.0.0.1:1',
  pid: 1,
  state: 'up',
  frontDoor: false,
})

describe('the request path drawn from the tiers', () => {
  it('links each tier to the next one the step has, within a region', () => {
    const nodes = [
      node('edge-us', 'edge', 'us'),
      node('global', 'global'),
      node('us-lb', 'balancer', 'us'),
      node('asia-lb', 'balancer', 'asia'),
      node('app-us-1', 'app', 'us'),
      node('app-asia-1', 'app', 'asia'),
      node('redis-asia', 'cache', 'asia'),
      node('db-asia', 'database', 'asia'),
      node('witness', 'database', undefined, 'monitor'),
      node('clicks', 'worker', 'asia'),
    ]
    expect(requestPath(nodes)).toEqual([
      ['edge-us', 'global'],
      ['global', 'us-lb'],
      ['global', 'asia-lb'],
      ['us-lb', 'app-us-1'],
      ['asia-lb', 'app-asia-1'],
      ['app-asia-1', 'redis-asia'],
      ['app-asia-1', 'db-asia'],
      ['redis-asia', 'clicks'],
    ])
  })

  it('skips a tier the step lacks', () => {
    expect(
      requestPath([
        node('lb', 'balancer'),
        node('app-1', 'app'),
        node('db', 'database'),
      ]),
    ).toEqual([
      ['lb', 'app-1'],
      ['app-1', 'db'],
    ])
    // Step 1: one app server, nothing else.
    expect(requestPath([node('app', 'app')])).toEqual([])
    // An edge with no balancer at all sends to the apps.
    expect(requestPath([node('edge', 'edge'), node('app-1', 'app')])).toEqual([
      ['edge', 'app-1'],
    ])
  })
})
