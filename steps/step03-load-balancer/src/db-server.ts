// The database server: the only process that opens the SQLite file. App
// servers send it one parameterised statement per request over HTTP/JSON,
// with a shared secret. Trade-off: every query now costs a network round trip,
// and in exchange the app servers hold no state and can be added or replaced.
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import express, {
  type NextFunction,
  type Request,
  type Response,
} from 'express'
import { listen, type Handle } from '../../../shared/net'
import { HttpError, badRequest, requireJson, sendError } from './http-error'
import { createMetrics } from './metrics'
import { isUniqueViolation, openDatabase } from './sqlite-store'

export interface DbServerOptions {
  name: string
  port?: number
  /** Loopback by default: a database must not be reachable from outside. */
  host?: string
  dataFile: string
  /** The shared secret app servers send as `Authorization: Bearer <token>`. */
  token: string
}

type Param = string | number | null

export async function startDbServer(options: DbServerOptions): Promise<Handle> {
  if (options.token.length < 16) {
    throw new TypeError('DbServerOptions.token must be at least 16 characters')
  }
  const db = openDatabase(options.dataFile)
  const metrics = createMetrics()
  const app = express()
  app.disable('x-powered-by')
  app.get('/healthz', (req, res) => {
    res.json({ status: 'ok', node: options.name })
  })
  app.get('/metrics', (req, res) => {
    res.json({ node: options.name, counters: metrics.snapshot() })
  })
  app.use(requireToken(options.token))
  app.use(requireJson, express.json({ limit: '64kb' }))

  // A reader statement (SELECT) on /query, a writer on /execute: the split
  // lets the client know which calls are safe to retry.
  app.post('/query', (req, res) => {
    const { statement, params } = prepare(req.body, true)
    metrics.count('db.queries')
    res.json({ rows: statement.all(params) })
  })
  app.post('/execute', (req, res) => {
    const { statement, params } = prepare(req.body, false)
    metrics.count('db.executes')
    try {
      res.json({ changes: statement.run(params).changes })
    } catch (error: unknown) {
      if (!isUniqueViolation(error)) throw error
      metrics.count('db.constraint_violations')
      throw new HttpError(409, 'constraint', (error as Error).message)
    }
  })
  app.use(sendError)

  function prepare(body: unknown, reader: boolean) {
    const { sql, params = [] } = (body ?? {}) as {
      sql?: unknown
      params?: unknown
    }
    if (typeof sql !== 'string')
      throw badRequest('invalid_sql', 'sql must be a string')
    // Values travel as params, never inside the SQL text: no string literal
    // can smuggle an injection through a careless caller.
    if (sql.includes("'")) {
      throw badRequest(
        'literal_in_sql',
        'Pass values as params, not as literals in the SQL',
      )
    }
    if (!validParams(params)) {
      throw badRequest(
        'invalid_params',
        'params must be an array or object of strings, numbers or null',
      )
    }
    let statement
    try {
      // prepare() refuses a string with more than one statement.
      statement = db.prepare(sql)
    } catch (error: unknown) {
      throw badRequest('invalid_sql', (error as Error).message)
    }
    if (statement.reader !== reader) {
      const where = statement.reader ? '/query' : '/execute'
      throw badRequest('wrong_endpoint', `Send this statement to ${where}`)
    }
    return { statement, params: params as Param[] | Record<string, Param> }
  }

  const server = await listen(createServer(app), options.port, options.host)
  return {
    url: server.url,
    close: async () => {
      await server.close()
      db.close()
    },
  }
}

function validParams(params: unknown): boolean {
  if (typeof params !== 'object' || params === null) return false
  return Object.values(params).every(
    (value) =>
      value === null || typeof value === 'string' || typeof value === 'number',
  )
}

// Compares digests, which always have the same length, so the time taken
// says nothing about how much of the token was right.
function requireToken(token: string) {
  const expected = digest(token)
  return (req: Request, res: Response, next: NextFunction) => {
    const given = /^Bearer (.+)$/.exec(req.get('Authorization') ?? '')?.[1]
    if (!given || !timingSafeEqual(digest(given), expected)) {
      res.set('WWW-Authenticate', 'Bearer')
      throw new HttpError(
        401,
        'unauthorized',
        'A valid database token is required',
      )
    }
    next()
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
