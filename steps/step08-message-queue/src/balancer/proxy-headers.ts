// What a proxy must change in the headers it passes on. Hop-by-hop headers
// describe one connection (client to balancer, or balancer to app) and must
// not travel further (RFC 9110, section 7.6.1). X-Forwarded-For is appended
// to, never replaced: earlier proxies may have written the real client first.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

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

export function withoutHopByHop(
  headers: IncomingHttpHeaders,
): OutgoingHttpHeaders {
  // A Connection header may name more headers that belong to this hop only.
  const named = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
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
