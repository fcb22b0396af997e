// One error type for every handler. Express 5 forwards a rejected promise to
// the error middleware, so handlers throw an HttpError and never catch;
// sendError turns it into `{ "error": { "code", "message" } }`.
import type { NextFunction, Request, Response } from 'express'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export const badRequest = (code: string, message: string) =>
  new HttpError(400, code, message)

// Checked before the JSON parser: without it, a body of another type would
// reach the handler as `undefined` instead of being refused.
export function requireJson(req: Request, res: Response, next: NextFunction) {
  if (!req.is('application/json')) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'Send Content-Type: application/json',
    )
  }
  next()
}

// The error middleware: registered last, after every route, or it would not
// receive their errors.
export function sendError(
  error: unknown,
  req: Request,
  res: Response,
  next: NextFunction,
) {
  const { status, code, message } = toHttpError(error)
  if (status === 500) console.error(error) // a bug: show it in the log
  if (res.headersSent) return next(error)
  res.status(status).json({ error: { code, message } })
}

// body-parser's errors carry a status and a type; name them for the client.
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error
  const { status, type } = error as { status?: number; type?: string }
  if (type === 'entity.parse.failed') {
    return badRequest('invalid_json', 'The body is not valid JSON')
  }
  if (type === 'entity.too.large') {
    return new HttpError(413, 'payload_too_large', 'The body is too large')
  }
  if (status && status >= 400 && status < 500) {
    const code = type?.replace(/\W/g, '_') ?? 'bad_request'
    return new HttpError(status, code, 'The request could not be read')
  }
  return new HttpError(500, 'internal', 'Something went wrong on our side')
}
