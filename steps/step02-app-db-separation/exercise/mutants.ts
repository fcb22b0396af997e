// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: 'the agent does not keep connections alive',
    hint: 'Hint 1: timeouts',
    replace: `new Agent({ keepAlive: true, maxSockets: 32 })`,
    with: `new Agent({ maxSockets: 32 })`,
  },
  {
    name: "the request goes through Node's default agent, not the client's",
    hint: 'Hint 1: timeouts',
    replace: `        method: 'POST',
        agent,`,
    with: `        method: 'POST',`,
  },
  {
    name: 'the timeout only emits an event: nothing ends the request',
    hint: 'Hint 1: timeouts',
    replace: `      req.setTimeout(timeoutMs, () => {
        req.destroy(
          new DbTimeoutError(\`No answer from the database in \${timeoutMs} ms\`),
        )
      })`,
    with: `      req.setTimeout(timeoutMs)`,
  },
  {
    name: 'the timeout rejects the promise but leaves the request open',
    hint: 'Hint 1: timeouts',
    replace: `        req.destroy(
          new DbTimeoutError(\`No answer from the database in \${timeoutMs} ms\`),
        )`,
    with: `        reject(
          new DbTimeoutError(\`No answer from the database in \${timeoutMs} ms\`),
        )`,
  },
  {
    name: 'the timeout destroys the request without an error, so it looks like a reset and a read is retried',
    hint: 'Hint 1: timeouts',
    replace: `        req.destroy(
          new DbTimeoutError(\`No answer from the database in \${timeoutMs} ms\`),
        )`,
    with: `        req.destroy()`,
  },
  {
    name: "every failure becomes a 503, the database's own answers too",
    hint: 'Hint 2: 503, not 500',
    replace: `  if (error instanceof DbError) return error
`,
    with: ``,
  },
  {
    name: 'only a refused or reset connection becomes a 503; a timeout escapes as a 500',
    hint: 'Hint 2: 503, not 500',
    replace: `  if (error instanceof DbError) return error
`,
    with: `  if (!neverReached(error)) return error as Error
`,
  },
  {
    name: 'an unreachable database answers 500, not 503',
    hint: 'Hint 2: 503, not 500',
    replace: `    503,
    'database_unavailable',`,
    with: `    500,
    'database_unavailable',`,
  },
  {
    name: 'send() is returned without await, so the catch never sees its failure',
    hint: 'Hint 3: one retry for reads',
    replace: `return await send(path, body)`,
    with: `return send(path, body)`,
  },
  {
    name: 'every failure is retried, a timeout too',
    hint: 'Hint 3: one retry for reads',
    replace: `if (attempt < retries && neverReached(error)) continue`,
    with: `if (attempt < retries) continue`,
  },
  {
    name: 'a read is retried twice',
    hint: 'Hint 3: one retry for reads',
    replace: `if (attempt < retries && neverReached(error)) continue`,
    with: `if (attempt <= retries && neverReached(error)) continue`,
  },
  {
    name: 'a write is retried like a read',
    hint: 'Hint 3: one retry for reads',
    replace: `if (attempt < retries && neverReached(error)) continue`,
    with: `if (attempt < 1 && neverReached(error)) continue`,
  },
]
