// Hostile requests at a front door, as an attacker sends them: targets that
// name other servers (a closed port among them), absolute-form and asterisk
// targets, broken request lines, foreign Host headers. Each must cost the
// attacker a 4xx and cost every other client nothing.
import { sendRaw } from './raw'
import { startTraffic } from './traffic'

const HEADS = [
  'GET //127.0.0.1:1/metrics HTTP/1.1',
  'GET http://127.0.0.1:1/ HTTP/1.1',
  'GET //localhost:9/x HTTP/1.1',
  'GET * HTTP/1.1',
  'GET /a%zz HTTP/1.1',
  'DELETE /api/links/zzzzzzz HTTP/1.1',
  'POST /api/links HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops',
  'BREW /coffee HTTP/1.1',
  'CONNECT 127.0.0.1:1 HTTP/1.1',
]

/** Sends `count` hostile requests, a few at a time; returns what came back. */
export async function sendHostile(
  base: string,
  count: number,
): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < count; i += 5) {
    const batch = HEADS.slice(0, 5).map((_, j) => {
      const head = HEADS[(i + j) % HEADS.length]!
      const [line, ...rest] = head.split('\r\n')
      const extra = rest.length ? `\r\n${rest.join('\r\n')}` : '\r\n\r\n'
      const host = `Host: evil.example\r\nConnection: close`
      return sendRaw(base, `${line}\r\n${host}${extra}`)
        .then((reply) => reply.status)
        .catch(() => 0)
    })
    statuses.push(...(await Promise.all(batch)))
  }
  return statuses
}

/** A normal client's traffic while hostile requests arrive for `ms`: what
 * failed for the normal client, and which hostile ones cost a 5xx. */
export async function normalUnderHostile(base: string, ms: number) {
  const traffic = await startTraffic(base)
  const until = Date.now() + ms
  const statuses: number[] = []
  while (Date.now() < until) statuses.push(...(await sendHostile(base, 20)))
  await traffic.stop()
  return {
    failures: traffic.failures,
    serverErrors: statuses.filter((status) => status === 0 || status >= 500),
  }
}
