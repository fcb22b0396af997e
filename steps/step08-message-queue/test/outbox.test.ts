import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../../../shared/testing/temp'
import type { LinkEvent } from '../src/queue/events'
import { auditLog } from '../src/queue/outbox'

const event = (id: string): LinkEvent => ({
  id,
  type: 'link.clicked',
  code: 'abc',
  at: 1,
})

describe('the audit log', () => {
  const dir = tempDir()
  afterAll(() => dir.remove())

  it('logs a redelivered event once, across a restart, and remembers only the latest ids', () => {
    const file = join(dir.path, 'audit.log')
    const ids = () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as LinkEvent).id)
    const append = auditLog(file, 2)
    for (const id of ['a', 'b', 'b', 'c', 'c']) append(event(id))
    expect(ids()).toEqual(['a', 'b', 'c'])
    // A restarted worker reads what it logged: the latest two, b and c.
    const again = auditLog(file, 2)
    for (const id of ['c', 'b', 'a']) again(event(id))
    // "a" fell out of memory long ago: the price of a bounded one.
    expect(ids()).toEqual(['a', 'b', 'c', 'a'])
  })
})
