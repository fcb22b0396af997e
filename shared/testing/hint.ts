// Wraps an exercise test so that, when it fails, its message ends by naming
// the hint to ask for. A test that failed because the code reached a gap of
// the skeleton (todo()) says just that, in one line: which gap, in which
// file, and its hint, instead of the assertion it never got to check.
import { hintCommand, reachedGaps } from '../todo'

export function hinted(hint: string, test: () => unknown): () => Promise<void> {
  return async () => {
    const before = reachedGaps().length
    try {
      await test()
    } catch (error: unknown) {
      const gap = reachedGaps()[before]
      if (gap) throw gapReached(gap)
      // By shape: errors of Node's own (new URL's TypeError, a fetch's
      // TimeoutError, a DOMException) come from another realm than Jest's,
      // and instanceof Error is false for them.
      if (hasMessage(error)) {
        const testPath = expect.getState().testPath ?? ''
        error.message += `\n\n${hintCommand(testPath, hint)}`
      }
      throw error
    }
  }
}

// No stack: the gap's own line is in the message, and Jest prints no code
// frame for an error without one.
function gapReached(gap: { what: string; hint: string; file: string }) {
  const error = new Error(
    `Reached a gap: ${gap.what} in ${gap.file}. ${hintCommand(gap.file, gap.hint)}`,
  )
  error.name = 'NotImplementedError'
  error.stack = `${error.name}: ${error.message}`
  return error
}

function hasMessage(error: unknown): error is { message: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  )
}
