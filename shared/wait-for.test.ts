import { GiveUp, waitFor } from './wait-for'

describe('waitFor', () => {
  it('resolves with the first truthy value the check returns', async () => {
    let calls = 0
    await expect(
      waitFor('the third call', () => ++calls >= 3 && calls),
    ).resolves.toBe(3)
  })

  it('names what it waited for, and the last error, when the deadline passes', async () => {
    const failing = () => {
      throw new Error('connection refused')
    }
    await expect(
      waitFor('the database', failing, { timeoutMs: 50 }),
    ).rejects.toThrow(
      /Timed out after 50 ms waiting for the database \(connection refused\)/,
    )
  })

  it('stops at once when the check gives up', async () => {
    const started = Date.now()
    const hopeless = () => {
      throw new GiveUp('the process exited')
    }
    await expect(
      waitFor('a dead process', hopeless, { timeoutMs: 10_000 }),
    ).rejects.toThrow('the process exited')
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
