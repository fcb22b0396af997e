// What a proxy must change in the headers it passes on. Hop-by-hop headers
// describe one connection (client to balancer, or balancer to app) and must
// not travel further (RFC 9110, section 7.6.1). X-Forwarded-For is appended
// to, never replaced: earlier proxies may have written the real client first.
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
} from 'node:http'

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

// A Connection header may name more headers that belong to this hop only.
function namedIn(connection: string): string[] {
  // What nearly every client sends names nothing more: no list to build.
  if (ONLY_KEEP_ALIVE_OR_CLOSE.test(connection)) return []
  return connection.split(',').map((name) => name.trim().toLowerCase())
}

const ONLY_KEEP_ALIVE_OR_CLOSE = /^\s*(?:keep-alive|close)?\s*$/i

export function withoutHopByHop(
  headers: IncomingHttpHeaders,
): OutgoingHttpHeaders {
  const named = namedIn(String(headers.connection ?? ''))
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.includes(name) && value !== undefined) {
      out[name] = value
    }
  }
  return out
}

export function forwardedHeaders(
  headers: IncomingHttpHeaders,
  clientAddress: string,
): OutgoingHttpHeaders {
  const out = withoutHopByHop(headers)
  const previous = headers['x-forwarded-for']
  out['x-forwarded-for'] = previous
    ? `${previous}, ${clientAddress}`
    : clientAddress
  // Trade-off: we speak plain HTTP; behind a TLS terminator this would come
  // from that proxy instead. Host is passed through unchanged.
  out['x-forwarded-proto'] = 'http'
  return out
}

// The same rules on Node's raw lists, [name, value, name, value, ...] as
// they came off the wire (message.rawHeaders): the load balancer's hot path.
// Given to http.request() or writeHead() as an array, a list is sent as it
// is, with no object built and no name checked a second time; our bench
// measured a tenth less of the balancer's CPU per request with them. Names
// go on in lower case, as the object form has them (and HTTP/2 requires).

/** withoutHopByHop on a raw list; also leaves out the names in `replaced`. */
export function withoutHopByHopRaw(
  raw: string[],
  replaced?: ReadonlySet<string>,
): string[] {
  const out: string[] = []
  let named: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (name === 'connection') named = [...named, ...namedIn(raw[i + 1]!)]
    if (!HOP_BY_HOP.has(name) && !replaced?.has(name))
      out.push(name, raw[i + 1]!)
  }
  // Host is never one hop's: dropped, the list would go on with no Host at
  // all (the object form gets Node's own, the app server's address).
  named = named.filter((name) => !HOP_BY_HOP.has(name) && name !== 'host')
  if (named.length === 0) return out // the usual case: one pass
  const kept: string[] = []
  for (let i = 0; i < out.length; i += 2)
    if (!named.includes(out[i]!)) kept.push(out[i]!, out[i + 1]!)
  return kept
}

const REPLACED = new Set(['x-forwarded-for', 'x-forwarded-proto'])

/** forwardedHeaders for a request, as a raw list. */
export function forwardedRawHeaders(
  req: IncomingMessage,
  clientAddress: string,
): string[] {
  const out = withoutHopByHopRaw(req.rawHeaders, REPLACED)
  // Node has joined the X-Forwarded-For lines already, as one value.
  const previous = req.headers['x-forwarded-for']
  out.push(
    'x-forwarded-for',
    previous ? `${previous}, ${clientAddress}` : clientAddress,
    'x-forwarded-proto',
    'http',
  )
  // HTTP/1.0 may leave Host out, and the app server speaks 1.1, which
  // requires it: name the address the client reached, as it would have.
  if (req.headers.host === undefined) out.push('host', reachedAddress(req))
  return out
}

function reachedAddress(req: IncomingMessage): string {
  const { localAddress = '127.0.0.1', localPort } = req.socket
  const host = localAddress.includes(':') ? `[${localAddress}]` : localAddress
  return `${host}:${localPort}`
}
