// The calls between our own nodes (health checks, a replica's pulls, the
// primary's lease, topology and shard maps) over node:http rather than
// fetch(). They are plain HTTP/1.1 with small JSON bodies, and fetch() would
// load undici and its WebAssembly parser into every node: some 18 MB of
// memory per process (measured), for nothing node:http does not already do.
// Same shape as fetch's answer, so the callers read as if it were fetch.
import { request } from 'node:http'

export interface CallOptions {
  method?: string
  headers?: Record<string, string>
  body?: string
  /** Aborts the call, whether it waits for the answer or reads its body. */
  signal?: AbortSignal
}

export interface Reply {
  status: number
  ok: boolean
  json(): Promise<unknown>
}

/** One HTTP request; resolves once the whole answer has arrived. */
export function httpCall(
  url: string | URL,
  options: CallOptions = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', headers, body, signal } = options
    const req = request(url, { method, headers, signal }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const status = res.statusCode ?? 0
        resolve({
          status,
          ok: status >= 200 && status < 300,
          json: async () => JSON.parse(text) as unknown,
        })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
