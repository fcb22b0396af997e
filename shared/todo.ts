// The gaps in an exercise skeleton call todo(): the skeleton compiles and
// runs, and the first request that reaches a gap fails with a message that
// says what to write and which hint to read.
export class NotImplementedError extends Error {
  override name = 'NotImplementedError'
}

export function todo(what: string, hint: string): never {
  throw new NotImplementedError(
    `Not implemented yet: ${what}. Stuck? Read "${hint}" in this step's exercise README.`,
  )
}
