// One error type for every handler. Express 5 forwards a rejected promise to
// the error middleware, so handlers throw an HttpError and never catch; the
// middleware turns it into `{ "error": { "code", "message" } }`.
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
