import type { Topology } from '../topology'
import { waitFor } from '../wait-for'
import { createSampler, factsOf, poolsOf, type Sample } from './sampler'

describe("a node's facts from its /metrics", () => {
  it('says how each cache layer of an app server answered', () => {
    const counters = {
      'cache.hit-l1': 50,
      'cache.hit-l2': 25,
      'cache.miss': 25,
      'links.redirects': 100,
    }
    expect(factsOf('app', { counters })).toEqual([
      'cache hits 75% (L1 50%, L2 25%)',
      'redirects 100',
    ])
    expect(factsOf('app', { counters: { 'http.requests': 3 } })).toEqual([])
  })

  it("counts an edge's stale answers as hits, a revalidation as a trip to the origin", () => {
    const counters = {
      'edge.hit': 6,
      'edge.stale': 2,
      'edge.miss': 1,
      'edge.revalidated': 1,
    }
    expect(factsOf('edge', { counters })).toEqual(['edge hits 80%'])
  })

  it("names a database's role, a replica's lag (and its silence when cut off), and a primary without its lease as fenced", () => {
    const replica = { role: 'replica', lagEntries: 3, lagMs: 40 }
    expect(factsOf('database', { replication: replica })).toEqual([
      'replica',
      'lag 3 entries, 40 ms',
    ])
    const cutOff = { ...replica, lagEntries: 0, lagMs: 0, connected: false }
    expect(factsOf('database', { replication: cutOff })).toEqual([
      'replica',
      'lag 0 entries, 0 ms',
      'no word from its primary (5 s)',
    ])
    const leader = { role: 'primary', leased: true, lagEntries: 0 }
    expect(factsOf('database', { replication: leader })).toEqual(['primary'])
    expect(
      factsOf('database', { replication: { ...leader, leased: false } }),
    ).toEqual(['primary, fenced (no lease)'])
  })

  it("shows a worker's queue depth, its oldest job and its dead letters", () => {
    const queues = { clicks: { waiting: 12, oldestWaitingMs: 900, dead: 2 } }
    expect(factsOf('worker', { queues })).toEqual([
      'clicks: 12 waiting, oldest 900 ms',
      'clicks: 2 dead letters',
    ])
  })
})

describe("the balancers' view of their servers", () => {
  it('gives every server what each balancer in front of it says, and says how many a balancer has in its pool', () => {
    const servers = [
      {
        url: 'http://127.0.0.1:3001',
        state: 'up' as const,
        passedChecks: 9,
        failedChecks: 0,
        failedAttempts: 0,
      },
      {
        url: 'http://127.0.0.1:3002',
        state: 'down' as const,
        passedChecks: 0,
        failedChecks: 3,
        failedAttempts: 2,
      },
    ]
    const pools = poolsOf([
      { name: 'load-balancer', metrics: { servers } },
      { name: 'down-lb', metrics: undefined },
    ])
    expect(pools.get('http://127.0.0.1:3002')).toEqual([
      {
        by: 'load-balancer',
        state: 'down',
        passedChecks: 0,
        failedChecks: 3,
        failedAttempts: 2,
      },
    ])
    expect(pools.get('http://127.0.0.1:3001')![0]!.state).toBe('up')
    expect(factsOf('balancer', { servers })).toEqual([
      '1 of 2 servers in the pool',
    ])
  })
})

describe('the frames a page gets', () => {
  const topology = (step: string): Topology => ({
    step,
    frontDoor: 'http://127.0.0.1:9',
    dataDir: '/nowhere',
    control: { url: 'http://127.0.0.1:9', token: 'secret' },
    nodes: [],
    links: [],
  })

  it("starts with a fresh sample and the minute's history, never one from before the page came", async () => {
    let step = 'before'
    const sampler = createSampler([], () => topology(step), 50)
    try {
      const firstOf = () =>
        new Promise<Sample>((resolve) => {
          const off = sampler.subscribe((sample) => {
            off()
            resolve(sample)
          })
        })
      const early = await firstOf()
      expect(early.topology.step).toBe('before')
      // Nobody watches for a while; then the topology changes.
      await waitFor('the last sample to age', () => Date.now() - early.at > 100)
      step = 'after'
      const subscribed = Date.now()
      const first = await firstOf()
      expect(first.topology.step).toBe('after')
      expect(first.at).toBeGreaterThanOrEqual(subscribed)
      expect(first.series!.length).toBeGreaterThanOrEqual(2)
      // The next frames carry the last point only.
      const frames: Sample[] = []
      const off = sampler.subscribe((sample) => frames.push(sample))
      await waitFor('two frames', () => frames.length >= 2)
      off()
      expect(frames[1]!.series).toHaveLength(1)
    } finally {
      sampler.stop()
    }
  })
})
