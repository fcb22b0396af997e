// A worker: its own process, one queue, one kind of job. BullMQ delivers at
// least once: the job of a worker that dies mid-way goes back to the queue
// (stalled), and a job that fails is retried with growing delays; after its
// last attempt it is a dead letter, kept aside in its queue's failed set
// until someone re-drives it, and the jobs behind it never wait for it.
// Every consumer here is idempotent, so at least once is exactly once in
// effect.
import { timingSafeEqual } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { Worker, type Job } from 'bullmq'
import Redis from 'ioredis'
import { listen, type Handle } from '../../../../shared/net'
import { createMetrics } from '../common/metrics'
import { watchDbNodes } from '../database/db-nodes'
import { createClickCounter } from './click-counter'
import { declareOnConnect, type LinkEvent } from './events'
import { connectExchanges } from './exchange'
import { auditLog, emailOutbox } from './outbox'
import { metricsOfProcess } from '../../../../shared/process-stats'

export type WorkerKind = 'click-analytics' | 'notifications' | 'audit-log'

export const QUEUE_OF: Record<WorkerKind, string> = {
  'click-analytics': 'clicks',
  notifications: 'emails',
  'audit-log': 'audit',
}

export interface WorkerOptions {
  name: string
  port?: number
  host?: string
  kind: WorkerKind
  /** The Redis that holds the queues. */
  redisUrl: string
  /** Where the outbox and the audit log are written. */
  dataDir: string
  publicUrl: string
  /** For the dead-letter endpoints. */
  adminToken: string
  /** The databases, for the click counts. */
  db?: {
    monitorUrl: string
    token: string
    region?: string
    addresses?: Record<string, string>
  }
  concurrency?: number
  batch?: { maxEvents?: number; maxWaitMs?: number }
  /** How soon the jobs of a worker that died go back to the queue. */
  stalledIntervalMs?: number
}

export async function startWorker(options: WorkerOptions): Promise<Handle> {
  const queueName = QUEUE_OF[options.kind]
  const metrics = createMetrics()
  // BullMQ's workers block on Redis: no per-command retry limit for them.
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null })
  connection.on('error', () => metrics.count('queue.redis_errors'))
  // The exchanges and their bindings, this worker's queue's among them,
  // declared at start: messages reach its queue before any app publishes.
  const exchanges = connectExchanges({ redis: connection, metrics })
  declareOnConnect(connection, exchanges, () =>
    metrics.count('queue.declare_errors'),
  )
  const queue = exchanges.queue(queueName) // closed with the exchanges
  const handle = await processorFor(options)
  const rate = perSecond(10)

  const worker = new Worker(
    queueName,
    async (job: Job) => {
      // A message no consumer could ever handle fails alone, at once.
      const event = asLinkEvent(job.data)
      await handle.process(event)
      metrics.count('queue.processed')
      rate.add()
    },
    {
      connection,
      concurrency:
        options.concurrency ?? (options.kind === 'click-analytics' ? 100 : 10),
      // A dead worker's lock runs out after this long; the next check of
      // a live worker then puts its jobs back in the queue.
      stalledInterval: options.stalledIntervalMs ?? 5000,
      lockDuration: options.stalledIntervalMs ?? 5000,
      maxStalledCount: 3,
    },
  )
  worker.on('error', () => metrics.count('queue.worker_errors'))
  // By the time this runs, BullMQ's script that ended the attempt has
  // moved the job: to the delayed set for a retry, or, out of attempts, to
  // the failed set, the dead letters, out of the way of the jobs behind. In
  // one step, so no crash leaves a dead letter lost or in two places.
  // BullMQ stamps finishedOn only on a job it moved to the failed set (a
  // re-drive clears it): no round trip to Redis to tell the two apart.
  worker.on('failed', (job) => {
    if (job)
      metrics.count(job.finishedOn ? 'queue.dead_letters' : 'queue.retries')
  })

  const deadLetters = () => queue.getFailed()
  async function redrive() {
    const letters = await deadLetters()
    for (const letter of letters)
      // One script moves it back to the waiting list, with its attempts
      // (and back-off) anew, as it was published.
      await letter.retry('failed', {
        resetAttemptsMade: true,
        resetAttemptsStarted: true,
      })
    return letters.length
  }

  const admin = Buffer.from(`Bearer ${options.adminToken}`)
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => json(res, status, body)
    if (req.url === '/healthz')
      return send(200, { status: 'ok', node: options.name })
    if (req.url === '/metrics')
      return void soon<Record<string, unknown>>(stats(), {}).then((queues) =>
        send(200, {
          node: options.name,
          counters: metrics.snapshot(),
          queues,
          process: metricsOfProcess(req.socket.localPort),
        }),
      )
    const given = Buffer.from(req.headers.authorization ?? '')
    if (given.length !== admin.length || !timingSafeEqual(given, admin))
      return send(401, {
        error: { code: 'unauthorized', message: 'The admin token is required' },
      })
    const unavailable = () =>
      send(503, {
        error: { code: 'queue_unavailable', message: 'Redis does not answer' },
      })
    if (req.url === '/dead-letters' && req.method === 'GET')
      return void soon(deadLetters())
        .then((jobs) =>
          send(200, {
            queue: queueName,
            dead: jobs.map((j) => ({
              ...j.data,
              failedReason: j.failedReason,
            })),
          }),
        )
        .catch(unavailable)
    if (req.url === '/dead-letters/redrive' && req.method === 'POST')
      return void soon(redrive())
        .then((count) => send(200, { redriven: count }))
        .catch(unavailable)
    send(404, {
      error: {
        code: 'not_found',
        message: 'GET /dead-letters, POST /dead-letters/redrive',
      },
    })
  })

  async function stats() {
    const counts = await queue
      .getJobCounts('waiting', 'active', 'delayed', 'failed')
      .catch(() => ({}))
    const [oldest] = await queue.getWaiting(0, 0).catch(() => [])
    return {
      [queueName]: {
        ...counts,
        dead: (counts as { failed?: number }).failed ?? 0,
        oldestWaitingMs: oldest ? Date.now() - oldest.timestamp : 0,
        processedPerSecond: rate.value(),
      },
    }
  }

  const http = await listen(server, options.port, options.host)
  return {
    url: http.url,
    close: async () => {
      await worker.close() // finishes the jobs in hand, the batch too
      await handle.close()
      await exchanges.close()
      await http.close()
      connection.disconnect()
    },
  }
}

async function processorFor(options: WorkerOptions) {
  if (options.kind === 'notifications') {
    const send = emailOutbox(join(options.dataDir, 'outbox'), options.publicUrl)
    return {
      process: async (event: LinkEvent) => send(event),
      close: async () => {},
    }
  }
  if (options.kind === 'audit-log') {
    const append = auditLog(join(options.dataDir, 'audit.log'))
    return {
      process: async (event: LinkEvent) => append(event),
      close: async () => {},
    }
  }
  if (!options.db)
    throw new TypeError('WorkerOptions.db is needed for click-analytics')
  const nodes = await watchDbNodes({
    ...options.db,
    monitorUrl: options.db.monitorUrl,
  })
  const counter = createClickCounter({
    nodes,
    token: options.db.token,
    maxEvents: options.batch?.maxEvents ?? 100,
    maxWaitMs: options.batch?.maxWaitMs ?? 20,
  })
  return {
    process: (event: LinkEvent) => counter.count(event),
    close: async () => {
      await counter.flush()
      counter.close()
      await nodes.close()
    },
  }
}

/** A Redis call that waits while Redis is away (a worker's connection
 * queues its commands) must not hold an HTTP answer: after a second, the
 * fallback, or a rejection. */
function soon<T>(work: Promise<T>, ...fallback: [T?]): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(
      () =>
        fallback.length
          ? resolve(fallback[0] as T)
          : reject(new Error('Redis does not answer')),
      1000,
    )
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

/** Events per second, averaged over the last `seconds` whole seconds. */
function perSecond(seconds: number) {
  const buckets = new Map<number, number>()
  return {
    add() {
      const now = Math.floor(Date.now() / 1000)
      buckets.set(now, (buckets.get(now) ?? 0) + 1)
      for (const second of buckets.keys())
        if (second < now - seconds) buckets.delete(second)
    },
    value() {
      const now = Math.floor(Date.now() / 1000)
      let sum = 0
      for (const [second, count] of buckets)
        if (second >= now - seconds && second < now) sum += count
      return Math.round(sum / seconds)
    },
  }
}

const CODE = /^[0-9A-Za-z_-]{1,64}$/
const TYPES = new Set(['link.clicked', 'link.created', 'link.deleted'])

/** The job's data as a link event, or an error: what comes out of a queue
 * is input like any other. */
function asLinkEvent(data: unknown): LinkEvent {
  const event = data as Partial<LinkEvent> | null
  if (
    typeof event?.id !== 'string' ||
    event.id.length === 0 ||
    event.id.length > 100 ||
    typeof event.code !== 'string' ||
    !CODE.test(event.code) ||
    !TYPES.has(event.type ?? '') ||
    !Number.isSafeInteger(event.at)
  )
    throw new Error('not a link event')
  return event as LinkEvent
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}
