// Wraps an exercise test so that, when it fails, its message ends by naming
// the hint to read in the step's exercise README. The original error is kept
// (with its expected/received diff), only its message grows.
import { relative, sep } from 'node:path'
import { ROOT } from '../steps'

export function hinted(hint: string, test: () => unknown): () => Promise<void> {
  return async () => {
    try {
      await test()
    } catch (error: unknown) {
      if (error instanceof Error) addHint(error, hint)
      throw error
    }
  }
}

function addHint(error: Error, hint: string): void {
  const testPath = expect.getState().testPath ?? ''
  const step = relative(ROOT, testPath).split(sep)[1] ?? '<step>'
  const note = `\n\n💰 Stuck? Read "${hint}" in exercises/${step}/README.md`
  error.message += note
}
