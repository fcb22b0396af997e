// A request written byte for byte, for what curl and fetch refuse to send:
// crafted request targets, a broken request line, a missing Host.
import { connect } from 'node:net'

export interface RawReply {
  status: number
  headers: Record<string, string>
  body: string
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function sendRaw(base: string, request: string): Promise<RawReply> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(request))
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error('no answer in 10 s')),
    )
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      // One response is enough: keep-alive would keep the socket open.
      const reply = parse(text)
      if (reply) {
        socket.destroy()
        resolve(reply)
      }
    })
    socket.on('error', reject)
    socket.on('close', () =>
      reject(new Error(`closed without an answer: ${JSON.stringify(text)}`)),
    )
  })
}

function parse(text: string): RawReply | undefined {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':')
      return [
        line.slice(0, colon).trim().toLowerCase(),
        line.slice(colon + 1).trim(),
      ]
    }),
  )
  const length = Number(headers['content-length'] ?? 0)
  let body = text.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') {
    if (!body.endsWith('0\r\n\r\n')) return undefined
    body = body.replace(/(?:^|\r\n)[0-9a-f]+\r\n/gi, '').replace(/\r\n$/, '')
  } else if (Buffer.byteLength(body, 'latin1') < length) return undefined
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    json = undefined
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body, json }
}
