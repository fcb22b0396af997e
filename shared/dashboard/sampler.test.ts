import { factsOf } from './sampler'

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

  it("names a database's role, a replica's lag, and a primary without its lease as fenced", () => {
    const replica = { role: 'replica', lagEntries: 3, lagMs: 40 }
    expect(factsOf('database', { replication: replica })).toEqual([
      'replica',
      'lag 3 entries, 40 ms',
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
