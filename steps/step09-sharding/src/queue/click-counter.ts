// The click-analytics worker's job: add clicks to the counts, exactly once
// each although a message may arrive twice (at-least-once delivery). Events
// are gathered into batches (BullMQ hands jobs one by one; the processor of
// each waits for its batch), and a batch is ONE statement: an insert of the
// event ids into click_events that skips ids already there, whose trigger
// adds one click per new row. The count and the record of what was counted
// commit together, or neither does. Trade-off: a batch waits up to maxWaitMs
// for company, and a batch the database refuses is tried event by event, so
// that one bad event fails alone.
import type { DbNodes } from '../database/db-nodes'
import { createDbClient, DbError, type DbClient } from '../database/db-client'
import type { LinkEvent } from './events'

export interface ClickCounterOptions {
  nodes: Pick<DbNodes, 'topology' | 'refresh'>
  token: string
  timeoutMs?: number
  maxEvents: number
  maxWaitMs: number
}

export function createClickCounter({
  nodes,
  token,
  timeoutMs,
  maxEvents,
  maxWaitMs,
}: ClickCounterOptions) {
  let batch: { event: LinkEvent; done: (error?: unknown) => void }[] = []
  let timer: NodeJS.Timeout | undefined
  const clients = new Map<string, DbClient>()

  // The primary, at its epoch, as the witness last said.
  const primary = () => {
    const { primary: node, epoch } = nodes.topology()
    const key = `${node.url} ${epoch}`
    let client = clients.get(key)
    if (!client) {
      client = createDbClient({
        url: node.url,
        token,
        timeoutMs,
        headers: { 'X-Epoch': String(epoch) },
      })
      clients.set(key, client)
    }
    return client
  }

  async function write(events: LinkEvent[]) {
    const rows = events.map(() => '(?, ?, ?)').join(', ')
    const sql = `INSERT OR IGNORE INTO click_events (event_id, code, at) VALUES ${rows}`
    const params = events.flatMap((e) => [e.id, e.code, e.at])
    try {
      await primary().execute(sql, params)
    } catch (error: unknown) {
      // Not the primary any more (a failover): learn the new one, once.
      if (
        !(error instanceof DbError) ||
        !['read_only', 'stale_epoch'].includes(error.code)
      )
        throw error
      await nodes.refresh()
      await primary().execute(sql, params)
    }
  }

  async function flush() {
    clearTimeout(timer)
    timer = undefined
    const taken = batch
    batch = []
    if (taken.length === 0) return
    try {
      await write(taken.map((entry) => entry.event))
      for (const entry of taken) entry.done()
    } catch (error: unknown) {
      // The database refused the statement (not just unreachable): one bad
      // event must not sink the batch, so each is tried on its own.
      const refused =
        error instanceof DbError && error.status >= 400 && error.status < 500
      if (!refused || taken.length === 1)
        return void taken.forEach((entry) => entry.done(error))
      await Promise.all(
        taken.map((entry) =>
          write([entry.event]).then(
            () => entry.done(),
            (alone: unknown) => entry.done(alone),
          ),
        ),
      )
    }
  }

  return {
    /** Resolves once this event's batch has committed. */
    count(event: LinkEvent): Promise<void> {
      return new Promise((resolve, reject) => {
        batch.push({
          event,
          done: (error) => (error ? reject(error) : resolve()),
        })
        if (batch.length >= maxEvents) void flush()
        else timer ??= setTimeout(() => void flush(), maxWaitMs)
      })
    },
    flush,
    close() {
      clearTimeout(timer)
      for (const client of clients.values()) client.close()
    },
  }
}
