// Which methods each path takes. A known path asked with another method
// answers 405 with the methods it does take (RFC 9110, section 15.5.6), and
// OPTIONS lists them: a client learns what it may do instead of a 404 that
// says the path does not exist.
import type express from 'express'
import { HttpError } from '../common/http-error'

// Registered after the routes: it only sees the methods they did not take.
export function allowOnly(
  app: express.Express,
  path: string,
  methods: string[],
): void {
  const allow = [...methods, 'OPTIONS'].join(', ')
  app.all(path, (req, res) => {
    res.set('Allow', allow)
    if (req.method === 'OPTIONS') return void res.status(204).end()
    throw new HttpError(
      405,
      'method_not_allowed',
      `${req.method} is not allowed here; use ${methods.join(' or ')}`,
    )
  })
}
