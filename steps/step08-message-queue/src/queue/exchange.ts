// Exchanges in front of BullMQ's queues, with RabbitMQ's model: a producer
// publishes to an exchange with a routing key, never to a queue, and the
// bindings decide which queues get a copy (routing.ts). Exchanges, queues
// and bindings are declared idempotently and kept in Redis, so every app
// server routes alike. A publish resolves only once every matching queue
// holds the message (publisher confirms). One that fails half way may have
// reached some queues already: it is published again whole, and a queue
// that has the copy keeps just the one, since the job id is the message id.
// (So one message reaches a queue once even through two exchanges.)
import { Queue, type JobsOptions } from 'bullmq'
import type Redis from 'ioredis'
import type { Metrics } from '../common/metrics'
import { route, type Binding, type ExchangeType } from './routing'

export class PreconditionFailed extends Error {
  override name = 'PreconditionFailed'
}

export interface Message {
  /** Unique per message: the queues' job id, so a re-sent copy is one. */
  id: string
}

export interface Publication {
  exchange: string
  routingKey: string
  message: Message
}

export interface ExchangesOptions {
  redis: Redis
  metrics: Metrics
  /** Retries for every job: after the last one it is a dead letter. */
  attempts?: number
  backoffMs?: number
  /** How long this process trusts its copy of the bindings. */
  refreshMs?: number
}

/** The step's retry policy: every job gets 5 attempts, 200 ms × 2ⁿ apart. */
export const RETRIES = { attempts: 5, backoffMs: 200 }

const EXCHANGES = 'mq:exchanges'
const bindingsOf = (exchange: string) => `mq:bindings:${exchange}`

export function connectExchanges({
  redis,
  metrics,
  attempts = RETRIES.attempts,
  backoffMs = RETRIES.backoffMs,
  refreshMs = 1000,
}: ExchangesOptions) {
  const queues = new Map<string, Queue>()
  const jobs: JobsOptions = {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: 3600 }, // an hour of job ids to spot re-sends
    // Out of attempts, a job stays in its queue's failed set, moved there
    // by BullMQ's own script as its last attempt ends: the dead letters.
    removeOnFail: false,
  }
  let table: { types: Record<string, string>; bindings: Map<string, Binding[]> }
  let loadedAt = 0

  const queue = (name: string) => {
    let found = queues.get(name)
    if (!found) {
      found = new Queue(name, { connection: redis })
      // The shared connection's own listener counts a lost Redis; a Queue
      // left without one would print every reconnect attempt.
      found.on('error', () => {})
      queues.set(name, found)
    }
    return found
  }

  // The exchanges and their bindings in two round trips, however many.
  async function load() {
    const types = await redis.hgetall(EXCHANGES)
    const names = Object.keys(types)
    const members = await Promise.all(
      names.map((name) => redis.smembers(bindingsOf(name))),
    )
    const bindings = new Map<string, Binding[]>()
    names.forEach((name, i) =>
      bindings.set(
        name,
        members[i]!.map((json) => JSON.parse(json) as Binding).sort((a, b) =>
          a.queue.localeCompare(b.queue),
        ),
      ),
    )
    table = { types, bindings }
    loadedAt = Date.now()
    return table
  }

  async function publishAll(messages: Publication[]) {
    const { types, bindings } =
      Date.now() - loadedAt > refreshMs ? await load() : table
    const byQueue = new Map<string, Publication[]>()
    let unroutable = 0
    for (const publication of messages) {
      const type = types[publication.exchange] as ExchangeType | undefined
      if (!type)
        throw new PreconditionFailed(`No exchange "${publication.exchange}"`)
      const targets = route(
        type,
        bindings.get(publication.exchange) ?? [],
        publication.routingKey,
      )
      if (targets.length === 0) unroutable++
      for (const name of targets)
        byQueue.set(name, [...(byQueue.get(name) ?? []), publication])
    }
    // One bulk add per queue, all sent at once: a round trip in all.
    await Promise.all(
      [...byQueue].map(([name, list]) =>
        queue(name).addBulk(
          list.map(({ routingKey, message }) => ({
            name: routingKey,
            data: message,
            opts: { ...jobs, jobId: message.id },
          })),
        ),
      ),
    )
    // Counted once confirmed: a publish that failed is tried again whole,
    // and its unroutable messages would be counted at every try.
    metrics.count('mq.published', messages.length)
    if (unroutable > 0) metrics.count('mq.unroutable', unroutable)
    return [...byQueue.keys()]
  }

  return {
    /** Idempotent: the same name and type again is fine; another type is not. */
    async declareExchange(name: string, type: ExchangeType) {
      await redis.hsetnx(EXCHANGES, name, type)
      const existing = await redis.hget(EXCHANGES, name)
      if (existing !== type)
        throw new PreconditionFailed(
          `Exchange "${name}" is a ${existing} exchange, not ${type}`,
        )
    },
    /** Idempotent, as a set: binding twice is binding once. */
    async bind(exchange: string, queueName: string, key: string) {
      if (!(await redis.hexists(EXCHANGES, exchange)))
        throw new PreconditionFailed(`No exchange "${exchange}"`)
      await redis.sadd(
        bindingsOf(exchange),
        JSON.stringify({ queue: queueName, key }),
      )
      loadedAt = 0
    },
    /** Resolves with the queues that hold the message now; [] when none
     * was bound to take it (counted as unroutable). */
    publish: (exchange: string, routingKey: string, message: Message) =>
      publishAll([{ exchange, routingKey, message }]),
    /** Many messages at once; resolves when every copy is held. */
    publishAll,
    queue,
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()))
    },
  }
}

export type Exchanges = ReturnType<typeof connectExchanges>
