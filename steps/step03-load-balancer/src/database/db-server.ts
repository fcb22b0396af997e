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
import { listen, type Handle } from '../../../../shared/net'
import {
  HttpError,
  badRequest,
  requireJson,
  sendError,
} from '../common/http-error'
import { createMetrics } from '../common/metrics'
import type { Statement } from 'better-sqlite3'
import { isUniqueViolation, openDatabase } from './sqlite-store'
import { metricsOfProcess } from '../../../../shared/process-stats'

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

// What an app may send: reads on /query, row changes on /execute. Nothing
// that changes the schema, reaches outside the data file (ATTACH, VACUUM
// INTO), reads or changes a setting (PRAGMA, pragma_* functions), or touches
// SQLite's own tables (sqlite_*).
const ALLOWED = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i
const FORBIDDEN =
  /\b(ATTACH|DETACH|PRAGMA|VACUUM|REINDEX|ANALYZE|load_extension)\b|\b(sqlite|pragma)_/i

// Enough for every statement the app sends, and a bound for one that varies.
const CACHED_STATEMENTS = 100

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
    res.json({
      node: options.name,
      counters: metrics.snapshot(),
      process: metricsOfProcess(req.socket.localPort),
    })
  })
  app.use(requireToken(options.token))
  app.use(requireJson, express.json({ limit: '64kb' }))

  // A reader statement (SELECT) on /query, a writer on /execute: the split
  // lets the client know which calls are safe to retry.
  app.post('/query', async (req, res) => {
    const { statement, params } = prepare(req.body, true)
    metrics.count('db.queries')
    res.json({ rows: await run(() => statement.all(params)) })
  })
  app.post('/execute', async (req, res) => {
    const { statement, params } = prepare(req.body, false)
    metrics.count('db.executes')
    res.json({ changes: await run(() => statement.run(params).changes) })
  })
  app.use((req, res) => {
    throw new HttpError(
      404,
      'not_found',
      `Nothing at ${req.method} ${req.path}`,
    )
  })
  app.use(sendError)

  // SQLite's complaints about a statement are the caller's mistake: a 4xx.
  async function run<T>(execute: () => T | Promise<T>): Promise<T> {
    try {
      return await execute()
    } catch (error: unknown) {
      const { code, message } = error as { code?: string; message: string }
      if (isUniqueViolation(error)) {
        metrics.count('db.constraint_violations')
        throw new HttpError(409, 'constraint', message)
      }
      // By name, not instanceof: the error comes from the native addon's realm.
      if (['RangeError', 'TypeError'].includes((error as Error).name)) {
        throw badRequest('invalid_params', message)
      }
      if (code?.startsWith('SQLITE_')) throw badRequest('invalid_sql', message)
      throw error
    }
  }

  function prepare(body: unknown, reader: boolean) {
    const { sql, params = [] } = (body ?? {}) as {
      sql?: unknown
      params?: unknown
    }
    if (typeof sql !== 'string')
      throw badRequest('invalid_sql', 'sql must be a string')
    const statement = compile(sql)
    if (!validParams(params)) {
      throw badRequest(
        'invalid_params',
        'params must be an array or object of strings, numbers or null',
      )
    }
    // /query takes what changes nothing (so it is safe to retry); a write
    // that also returns rows (RETURNING) fits neither endpoint.
    const fits = reader ? statement.readonly : !statement.reader
    if (!fits) {
      const where = statement.readonly ? '/query' : '/execute without RETURNING'
      throw badRequest('wrong_endpoint', `Send this statement to ${where}`)
    }
    return { statement, params: params as Param[] | Record<string, Param> }
  }

  // A statement cache, as every database driver keeps: an app sends the same
  // few statements again and again, and compiling one (parse and plan) costs
  // more than running it. Only statements that passed the checks are kept,
  // and a client that sends endless new SQL empties the cache, never grows it.
  const statements = new Map<string, Statement>()
  function compile(sql: string): Statement {
    const cached = statements.get(sql)
    if (cached) return cached
    // Values travel as params, never inside the SQL text: no string literal
    // can smuggle an injection through a careless caller.
    if (sql.includes("'")) {
      throw badRequest(
        'literal_in_sql',
        'Pass values as params, not as literals in the SQL',
      )
    }
    if (!ALLOWED.test(sql) || FORBIDDEN.test(sql)) {
      throw badRequest(
        'statement_not_allowed',
        "Only SELECT, INSERT, UPDATE and DELETE on the app's own tables",
      )
    }
    let statement
    try {
      // prepare() refuses a string with more than one statement.
      statement = db.prepare(sql)
    } catch (error: unknown) {
      throw badRequest('invalid_sql', (error as Error).message)
    }
    metrics.count('db.statements_compiled')
    if (statements.size >= CACHED_STATEMENTS) statements.clear()
    statements.set(sql, statement)
    return statement
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
