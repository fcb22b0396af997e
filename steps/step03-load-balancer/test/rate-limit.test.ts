import { createRateLimiter } from '../src/balancer/rate-limit'

describe('rate limit: a token bucket per client', () => {
  it('allows a burst of `capacity`, then asks the client to wait until a token is back', () => {
    let now = 0
    const limit = createRateLimiter({
      capacity: 2,
      refillPerSecond: 0.5,
      now: () => now,
    })
    expect([limit('a'), limit('a'), limit('a')]).toEqual([0, 0, 2])
    expect(limit('b')).toBe(0)
    now = 2_000
    expect([limit('a'), limit('a')]).toEqual([0, 2])
  })

  it('refuses a configuration that could never let a request through, naming the options', () => {
    expect(() =>
      createRateLimiter({ capacity: 0, refillPerSecond: 1 }),
    ).toThrow(/capacity/)
    expect(() =>
      createRateLimiter({ capacity: 1, refillPerSecond: 0 }),
    ).toThrow(/refillPerSecond/)
  })
})
