import { waitFor } from './wait-for'

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
})
