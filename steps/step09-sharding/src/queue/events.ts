// What happens to links, as messages: a redirect, a create and a delete each
// publish an event instead of writing a count. Who hears what is decided by
// the exchanges here, and the workers that consume the queues.
//   link-events (topic):  link.clicked  -> clicks        (click-analytics)
//   audit (fanout):       every event   -> audit          (audit-log)
//   notify (direct):      email         -> emails         (notifications)
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type Redis from 'ioredis'
import type { Exchanges, Publication } from './exchange'
import type { ExchangeType } from './routing'

export type EventType = 'link.clicked' | 'link.created' | 'link.deleted'

export interface LinkEvent {
  id: string
  type: EventType
  code: string
  /** Epoch milliseconds, on the app server's clock. */
  at: number
  region?: string
  referrer?: string
  /** A coarse class of user agent, never the agent itself. */
  client?: 'browser' | 'bot' | 'tool' | 'other'
}

export const EXCHANGES: [string, ExchangeType][] = [
  ['link-events', 'topic'],
  ['audit', 'fanout'],
  ['notify', 'direct'],
]
export const BINDINGS: [exchange: string, queue: string, key: string][] = [
  ['link-events', 'clicks', 'link.clicked'],
  ['audit', 'audit', ''],
  ['notify', 'emails', 'email'],
]

/** Declares the exchanges and bindings: every process may, any number of times. */
export async function declare(exchanges: Exchanges) {
  await Promise.all(
    EXCHANGES.map(([name, type]) => exchanges.declareExchange(name, type)),
  )
  await Promise.all(
    BINDINGS.map(([exchange, queue, key]) =>
      exchanges.bind(exchange, queue, key),
    ),
  )
}

/** Declares them each time the connection is ready: at start, as
 * RabbitMQ's clients do, and again when Redis comes back, since a Redis
 * that lost its last second of writes (AOF, synced every second) may have
 * lost them, and every event would be unroutable. Returns the latest
 * declaration, for a publish to wait on; one that failed is tried again. */
export function declareOnConnect(
  redis: Redis,
  exchanges: Exchanges,
  failed: () => void,
) {
  let declared: Promise<void> | undefined
  const again = () => {
    const attempt: Promise<void> = declare(exchanges).catch(
      (error: unknown) => {
        if (declared === attempt) declared = undefined
        failed()
        throw error
      },
    )
    attempt.catch(() => {}) // a publish that waits on it sees the error
    return (declared = attempt)
  }
  redis.on('ready', () => void again())
  return () => declared ?? again()
}

/** Where one event is published: its exchanges and routing keys. */
export function publications(event: LinkEvent): Publication[] {
  const to = (exchange: string, routingKey: string) => ({
    exchange,
    routingKey,
    message: event,
  })
  return [
    to('link-events', event.type),
    to('audit', event.type),
    ...(event.type === 'link.created' ? [to('notify', 'email')] : []),
  ]
}

export function linkEvent(
  type: EventType,
  code: string,
  req?: IncomingMessage,
  region?: string,
): LinkEvent {
  const agent = String(req?.headers['user-agent'] ?? '')
  const referrer = req?.headers.referer
  return {
    id: randomUUID(),
    type,
    code,
    at: Date.now(),
    ...(region ? { region } : {}),
    ...(typeof referrer === 'string'
      ? { referrer: referrer.slice(0, 200) }
      : {}),
    ...(req ? { client: clientClass(agent) } : {}),
  }
}

function clientClass(agent: string): LinkEvent['client'] {
  if (/bot|crawler|spider|preview/i.test(agent)) return 'bot'
  if (/^(curl|wget|httpie|node|python|go-http|okhttp)/i.test(agent))
    return 'tool'
  if (/mozilla/i.test(agent)) return 'browser'
  return 'other'
}
