// Waits until the queues' Redis holds every exchange of the step, with
// every binding: what a first message needs to be routed.
import type Redis from 'ioredis'
import { waitFor } from '../../../shared/wait-for'
import { BINDINGS, EXCHANGES } from '../src/queue/events'

export async function declarationsIn(redis: Redis, timeoutMs = 5000) {
  const expected = {
    exchanges: Object.fromEntries(EXCHANGES),
    bindings: BINDINGS.map(([, queue, key]) => [
      JSON.stringify({ queue, key }),
    ]),
  }
  await waitFor(
    'the exchanges and bindings to be declared',
    async () => {
      expect({
        exchanges: await redis.hgetall('mq:exchanges'),
        bindings: await Promise.all(
          BINDINGS.map(([exchange]) =>
            redis.smembers(`mq:bindings:${exchange}`),
          ),
        ),
      }).toEqual(expected)
      return true
    },
    { timeoutMs },
  )
}
