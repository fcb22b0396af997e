// Tests and start-up code wait for a condition, never for a fixed time: on a
// loaded two-core machine a fixed sleep is either too short (flaky) or too
// long (slow). A deadline turns a hang into an error that says what was awaited.

/** Thrown from a check to stop waiting at once: the condition can never hold. */
export class GiveUp extends Error {
  override name = 'GiveUp'
}

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
}

export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20 }: WaitOptions = {},
): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, false | null | undefined>
      }
      lastError = undefined
    } catch (error: unknown) {
      if (error instanceof GiveUp) throw error
      lastError = error
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (${lastError.message})` : ''
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${cause}`,
      )
    }
    await delay(intervalMs)
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
