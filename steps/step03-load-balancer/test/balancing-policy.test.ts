// The exercise: the balancing policy and its health state. `npm test --
// step03` runs these against exercises/; each failure names the hint to read.
import { hinted } from '../../../shared/testing/hint'
import { send } from '../../../shared/testing/http'
import { waitFor } from '../../../shared/wait-for'
import { tempDir } from '../../../shared/testing/temp'
import { startUpstream, type Upstream } from '../../../shared/testing/upstream'
import { createPool } from '../src/balancer/balancing-policy'
import { startLoadBalancer } from '../src/balancer/load-balancer'
import { startSystem, type System } from '../src/system'

const A = 'http://a'
const B = 'http://b'
const C = 'http://c'
const picks = (pool: ReturnType<typeof createPool>, n: number) =>
  Array.from({ length: n }, () => pool.pick())

describe('balancing policy: round-robin', () => {
  it(
    'takes the servers in turn',
    hinted('Hint 1: round-robin', () => {
      const pool = createPool([A, B, C], {
        policy: 'round-robin',
        rise: 2,
        fall: 2,
      })
      expect(picks(pool, 7)).toEqual([A, B, C, A, B, C, A])
    }),
  )

  it(
    'skips the servers a request already tried, and answers undefined when none is left',
    hinted('Hint 1: round-robin', () => {
      const pool = createPool([A, B, C], {
        policy: 'round-robin',
        rise: 2,
        fall: 2,
      })
      expect([pool.pick(), pool.pick(new Set([A])), pool.pick()]).toEqual([
        A,
        B,
        C,
      ])
      expect(pool.pick(new Set([A]))).toBe(B)
      expect(pool.pick(new Set([C, A]))).toBe(B)
      expect(pool.pick(new Set([A, B, C]))).toBeUndefined()
    }),
  )

  it(
    'takes turns among the servers that are up when one is down',
    hinted('Hint 1: round-robin', () => {
      const pool = createPool([A, B, C], {
        policy: 'round-robin',
        rise: 2,
        fall: 2,
      })
      pool.servers()[1]!.up = false // B is down, as after failed checks
      // Moving the turn by one, not past the pick, would give C twice.
      expect(picks(pool, 6)).toEqual([A, C, A, C, A, C])
    }),
  )
})

describe('balancing policy: least-connections', () => {
  it(
    'picks the server with the fewest requests in flight, and takes turns on ties',
    hinted('Hint 2: least-connections', () => {
      const pool = createPool([A, B, C], {
        policy: 'least-connections',
        rise: 2,
        fall: 2,
      })
      expect(picks(pool, 3)).toEqual([A, B, C]) // an idle pool takes turns
      pool.started(A)
      pool.started(A)
      pool.started(B)
      expect(pool.pick()).toBe(C)
      pool.started(C)
      expect(pool.pick()).toBe(B)
      pool.finished(A)
      pool.finished(A)
      expect(picks(pool, 2)).toEqual([A, A])
    }),
  )

  it(
    'with least-connections, skips servers that are down or already tried',
    hinted('Hint 2: least-connections', () => {
      const pool = createPool([A, B, C], {
        policy: 'least-connections',
        rise: 2,
        fall: 2,
      })
      // A retry: A is idle and its turn, but the request already tried it.
      expect(pool.pick(new Set([A]))).toBe(B)
      pool.servers()[0]!.up = false // A is down, as after failed checks
      expect(picks(pool, 3)).toEqual([C, B, C])
      // A, down, has nothing in flight: the fewest of all servers is 0, yet
      // the pick is among the candidates, B and C, with 1 each.
      pool.started(B)
      pool.started(C)
      expect(pool.pick()).toBe(B)
    }),
  )
})

describe('balancing policy: health with rise and fall', () => {
  it(
    'takes a server down after `fall` failed checks in a row, not before',
    hinted('Hint 3: rise and fall', () => {
      const pool = createPool([A, B], {
        policy: 'round-robin',
        rise: 2,
        fall: 3,
      })
      pool.report(A, false)
      pool.report(A, false)
      pool.report(A, true) // a pass breaks the streak
      pool.report(A, false)
      pool.report(A, false)
      expect(pool.servers()[0]!.up).toBe(true)
      pool.report(A, false)
      expect(pool.servers()[0]!.up).toBe(false)
      expect(picks(pool, 3)).toEqual([B, B, B])
    }),
  )

  it(
    'brings a down server back after `rise` passed checks in a row',
    hinted('Hint 3: rise and fall', () => {
      const pool = createPool([A, B], {
        policy: 'round-robin',
        rise: 3,
        fall: 1,
      })
      pool.report(A, false)
      pool.report(A, true)
      pool.report(A, true)
      pool.report(A, false)
      pool.report(A, true)
      pool.report(A, true)
      expect(pool.servers()[0]!.up).toBe(false)
      pool.report(A, true)
      expect(pool.servers()[0]!.up).toBe(true)
    }),
  )

  it(
    'ejects a server at once on a connection error, and needs `rise` passes to return',
    hinted('Hint 3: rise and fall', () => {
      const pool = createPool([A, B], {
        policy: 'round-robin',
        rise: 2,
        fall: 3,
      })
      pool.report(A, true)
      pool.eject(A)
      expect(pool.pick()).toBe(B)
      expect(pool.pick()).toBe(B)
      pool.report(A, true)
      expect(pool.servers()[0]!.up).toBe(false)
      pool.report(A, true)
      expect(pool.servers()[0]!.up).toBe(true)
    }),
  )

  it(
    'answers undefined when every server is down',
    hinted('Hint 3: rise and fall', () => {
      const pool = createPool([A, B], {
        policy: 'round-robin',
        rise: 1,
        fall: 1,
      })
      pool.report(A, false)
      pool.eject(B)
      expect(pool.pick()).toBeUndefined()
    }),
  )
})

describe('balancing policy: inside the running balancer', () => {
  const data = tempDir()
  let system: System
  beforeAll(async () => {
    system = await startSystem({ dataDir: data.path, healthIntervalMs: 100 })
  })
  afterAll(async () => {
    await system.close()
    data.remove()
  })

  it(
    'spreads 300 GETs over three app servers within one request of equal',
    hinted('Hint 1: round-robin', async () => {
      const counts = new Map<string, number>()
      for (let i = 0; i < 300; i++) {
        const reply = await send(system.url, '/healthz')
        const node = reply.headers.get('x-served-by') ?? 'none'
        counts.set(node, (counts.get(node) ?? 0) + 1)
      }
      expect([...counts.keys()].sort()).toEqual(['app-1', 'app-2', 'app-3'])
      for (const count of counts.values())
        expect(Math.abs(count - 100)).toBeLessThanOrEqual(1)
    }),
  )

  it(
    'with least-connections, sends new requests away from a server busy with slow requests',
    hinted('Hint 2: least-connections', async () => {
      const servers: Upstream[] = await Promise.all(
        ['slow', 'fast-1', 'fast-2'].map((name) => startUpstream(name)),
      )
      servers[0]!.hang = true // busy until the test ends
      const balancer = await startLoadBalancer({
        name: 'lb',
        servers: servers.map((s) => s.url),
        policy: 'least-connections',
        timeoutMs: 60_000, // the hung request must stay in flight
        log: () => {},
      })
      try {
        // One request lands on each server; the slow one keeps its own.
        let answered = 0
        for (let i = 0; i < 3; i++) {
          void send(balancer.url, `/work/${i}`)
            .then(() => answered++)
            .catch(() => {})
        }
        await waitFor('the two fast servers to answer', () => answered >= 2)
        for (let i = 3; i < 30; i++) await send(balancer.url, `/work/${i}`)
        const slow = servers[0]!.received.filter((r) =>
          r.url.startsWith('/work'),
        ).length
        // Round-robin would have given the slow server 10 of the 30.
        expect(slow).toBe(1)
      } finally {
        await balancer.close()
        await Promise.all(servers.map((s) => s.close()))
      }
    }),
  )
})
