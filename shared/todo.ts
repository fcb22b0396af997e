// The gaps in an exercise skeleton call todo(): the skeleton compiles and
// runs, and the first request that reaches a gap fails with a message that
// says what to write and how to get the hint for it.
export class NotImplementedError extends Error {
  override name = 'NotImplementedError'
  constructor(
    readonly what: string,
    readonly hint: string,
    /** The skeleton's file, e.g. exercises/step03-load-balancer/pool.ts. */
    readonly file: string,
  ) {
    super(`Not implemented yet: ${what} in ${file}. ${hintCommand(file, hint)}`)
  }
}

export interface Gap {
  what: string
  hint: string
  file: string
}

// Every gap reached in this process, so that a test that failed because of
// one can say which (the request that reached it may have been answered 500
// far from the test's own code).
const reached: Gap[] = ((
  globalThis as { workshopGaps?: Gap[] }
).workshopGaps ??= [])

export function reachedGaps(): readonly Gap[] {
  return reached
}

export function todo(what: string, hint: string): never {
  const error = new NotImplementedError(what, hint, callerFile())
  reached.push({ what, hint, file: error.file })
  throw error
}

/** "💰 Stuck? Run npm run hint -- step03 for "Hint 1: round-robin"." */
export function hintCommand(file: string, hint: string): string {
  const step = /step(\d\d)-/.exec(file)?.[1]
  const command = step ? `npm run hint -- step${step}` : 'npm run hint'
  return `💰 Stuck? Run ${command} for "${hint}".`
}

// The skeleton file that called todo(), from the stack.
function callerFile(): string {
  const frames = new Error().stack?.split('\n') ?? []
  for (const frame of frames) {
    const match =
      /(exercises|solutions)[/\\](step\d\d-[^/\\]+)[/\\]([^:/\\]+\.ts)/.exec(
        frame,
      )
    if (match) return `${match[1]}/${match[2]}/${match[3]}`
  }
  return 'the exercise file'
}
