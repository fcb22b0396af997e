// The app server's line to the database server. Three habits of every real
// database driver: reuse connections (keep-alive), give up after a timeout,
// and turn "the database is unreachable" into a 503 for the client, never a
// crash or a hang. Trade-off: a retried read is safe; a retried write is not.
import { Agent, request } from 'node:http'
import { HttpError } from '../common/http-error'

export interface DbClientOptions {
  /** The database server, e.g. http://127.0.0.1:3010 */
  url: string
  token: string
  timeoutMs?: number
  /** Sent with every request, e.g. the epoch a write belongs to. */
  headers?: Record<string, string>
}

export type Params =
  (string | number | null)[] | Record<string, string | number | null>
export type Row = Record<string, unknown>

export interface DbClient {
  /** A read: retried once when the connection is refused or reset. */
  query<T = Row>(sql: string, params?: Params): Promise<T[]>
  /** A write: never retried, since it may have been applied. */
  execute(sql: string, params?: Params): Promise<{ changes: number }>
  close(): void
}

/** An error the database server answered with (bad SQL, a constraint...). */
export class DbError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'DbError'
  }
}

export class DbTimeoutError extends Error {
  override name = 'DbTimeoutError'
}

export function createDbClient({
  url,
  token,
  timeoutMs = 1000,
  headers = {},
}: DbClientOptions): DbClient {
  // Trade-off: keep-alive saves a TCP handshake per query; maxSockets caps how
  // many queries one app server can have in flight at the database.
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })

  function send(path: string, body: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, url), {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${token}`,
          ...headers,
        },
      })
      req.on('response', (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('error', reject)
        res.on('end', () => {
          const json = parse(text)
          if (res.statusCode === 200) return resolve(json)
          const error = json?.error ?? { code: 'unknown', message: text }
          reject(new DbError(res.statusCode ?? 500, error.code, error.message))
        })
      })
      req.on('error', reject)
      // Without a timeout a hung database hangs every request that waits on it.
      req.setTimeout(timeoutMs, () => {
        req.destroy(
          new DbTimeoutError(`No answer from the database in ${timeoutMs} ms`),
        )
      })
      req.end(JSON.stringify(body))
    })
  }

  async function call(
    path: string,
    body: unknown,
    retries: number,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send(path, body)
      } catch (error: unknown) {
        if (attempt < retries && neverReached(error)) continue
        throw unavailable(error)
      }
    }
  }

  return {
    async query<T>(sql: string, params: Params = []) {
      const reply = (await call('/query', { sql, params }, 1)) as { rows: T[] }
      return reply.rows
    },
    async execute(sql, params = []) {
      return (await call('/execute', { sql, params }, 0)) as { changes: number }
    },
    close: () => agent.destroy(),
  }
}

// Refused: nothing listens (the database restarts). Reset: the connection
// broke before any answer, e.g. a kept-alive socket the server had closed.
export function neverReached(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE'
}

/** What the app's client sees when the database cannot answer: a 503. */
export function unavailable(error: unknown): Error {
  // A database that says it cannot serve now (a primary without its lease)
  // is as unavailable to the client as one that does not answer.
  if (error instanceof DbError && error.status === 503)
    return new HttpError(503, 'database_unavailable', error.message)
  if (error instanceof DbError) return error
  return new HttpError(
    503,
    'database_unavailable',
    'The database is not answering; try again shortly',
  )
}

function parse(
  text: string,
): { error?: { code: string; message: string } } | undefined {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
