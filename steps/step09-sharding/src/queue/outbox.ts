// The two other consumers, both idempotent by the event's id. The
// notifications worker turns link.created into an email, written to a
// local outbox (one file per event: a second delivery finds it there). The
// audit-log worker appends every event to an append-only log, once each.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import type { LinkEvent } from './events'

export function emailOutbox(dir: string, publicUrl: string) {
  return (event: LinkEvent) => {
    mkdirSync(dir, { recursive: true }) // again each time: it may be gone
    const file = join(dir, `${event.id}.txt`)
    if (existsSync(file)) return // delivered before: sent already
    const email = [
      `Message-ID: <${event.id}@shortener.local>`,
      `Date: ${new Date(event.at).toUTCString()}`,
      'Subject: Your short link is ready',
      '',
      `Your short link ${publicUrl}/${event.code} is ready.`,
      '',
    ].join('\n')
    writeFileSync(file, email)
  }
}

/** How many of the latest ids the audit log remembers: a redelivery comes
 * within minutes (a retry, a stalled job), so memory stays bounded. */
const REMEMBERED = 100_000

export function auditLog(file: string, remembered = REMEMBERED) {
  mkdirSync(dirname(file), { recursive: true })
  // The latest ids logged, so a second delivery adds nothing. Trade-off: a
  // duplicate older than the last `remembered` events would be logged twice.
  const logged = new Set<string>()
  const remember = (id: string) => {
    logged.add(id)
    if (logged.size > remembered)
      logged.delete(logged.values().next().value as string)
  }
  if (existsSync(file))
    for (const line of readFileSync(file, 'utf8').split('\n'))
      if (line) remember((JSON.parse(line) as LinkEvent).id)
  return (event: LinkEvent) => {
    if (logged.has(event.id)) return
    appendFileSync(file, JSON.stringify(event) + '\n')
    remember(event.id)
  }
}
