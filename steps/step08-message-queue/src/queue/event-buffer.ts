// Publishing never makes a redirect wait, nor fail: the app server puts each
// event in a bounded buffer in memory and answers; a flusher publishes the
// buffer in order, a batch at a time, with confirms, and keeps what it could
// not publish for the next try (Redis away, or far across the WAN: one round
// trip carries a whole batch). Trade-off: the buffer dies with its process,
// and when it is full, new events are dropped and counted (events.dropped),
// never silently.
import { delay } from '../../../../shared/wait-for'
import type { Metrics } from '../common/metrics'

export interface EventBufferOptions<E> {
  /** Publishes a batch, all or nothing: a failed one is tried again whole. */
  publish(events: E[]): Promise<void>
  maxEvents: number
  /** The most events one publish carries. */
  maxBatch?: number
  metrics: Metrics
  /** How long to wait before trying again after a failed publish. */
  retryMs?: number
}

export function createEventBuffer<E>({
  publish,
  maxEvents,
  metrics,
  maxBatch = 500,
  retryMs = 200,
}: EventBufferOptions<E>) {
  const buffer: E[] = []
  let running = true
  let wake: (() => void) | undefined

  const flushing = (async () => {
    while (running || buffer.length > 0) {
      if (buffer.length === 0) {
        await new Promise<void>((resolve) => (wake = resolve))
        continue
      }
      const batch = buffer.slice(0, maxBatch)
      try {
        await publish(batch)
        buffer.splice(0, batch.length)
        metrics.count('events.published', batch.length)
      } catch {
        metrics.count('events.publish_failures')
        if (!running) break // closing: what is left is lost, and counted
        await delay(retryMs)
      }
    }
  })()

  return {
    push(event: E) {
      if (buffer.length >= maxEvents)
        return void metrics.count('events.dropped')
      buffer.push(event)
      wake?.()
    },
    /** Events waiting to be published. */
    size: () => buffer.length,
    /** The first of them, waiting the longest. */
    oldest: (): E | undefined => buffer[0],
    /** Publishes what it can of the buffer, then stops. */
    async close() {
      running = false
      wake?.()
      await flushing
      metrics.count('events.dropped', buffer.length)
    },
  }
}
