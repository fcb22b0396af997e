// Which queues a message reaches: RabbitMQ's routing, the model this step
// copies. A direct exchange matches the routing key exactly; a fanout
// exchange ignores keys and copies to every bound queue; a topic exchange
// matches dot-separated words, where `*` is exactly one word and `#` is zero
// or more. Either way a queue gets one copy, however many of its bindings
// match. Trade-off: topics let consumers subscribe to patterns the
// producer never heard of; every publish pays the matching.
// @skeleton
import { todo } from '../../../../shared/todo'
// @end

export type ExchangeType = 'direct' | 'fanout' | 'topic'

export interface Binding {
  queue: string
  /** The binding key: a word, a topic pattern, or anything for fanout. */
  key: string
}

/** The words of a key: "link.clicked" -> ["link", "clicked"]; "" has none. */
export const words = (key: string): string[] =>
  key === '' ? [] : key.split('.')

/** Does a topic binding key match a routing key? */
export function topicMatches(bindingKey: string, routingKey: string): boolean {
  const pattern = words(bindingKey)
  const key = words(routingKey)
  // @solution
  // matches(i, j): pattern words from i on match key words from j on.
  const seen = new Map<string, boolean>()
  const matches = (i: number, j: number): boolean => {
    const memo = seen.get(`${i} ${j}`)
    if (memo !== undefined) return memo
    let result: boolean
    if (i === pattern.length) result = j === key.length
    else if (pattern[i] === '#')
      // Zero words, or one more word and still inside the #.
      result = matches(i + 1, j) || (j < key.length && matches(i, j + 1))
    else
      result =
        j < key.length &&
        (pattern[i] === '*' || pattern[i] === key[j]) &&
        matches(i + 1, j + 1)
    seen.set(`${i} ${j}`, result)
    return result
  }
  return matches(0, 0)
  // @skeleton
  // 🐨 Match `pattern` against `key` word by word: a word matches itself
  //    (case matters), `*` matches exactly one word (an empty one too), and
  //    `#` matches zero or more words. Every word of both must be used.
  // 💰 A function matches(i, j) that asks "do pattern[i..] and key[j..]
  //    match?" has one case per kind of word; # tries both zero words
  //    (i + 1, j) and one more (i, j + 1).
  // 🦉 A consumer binds to link.# without knowing which events will exist:
  //    the producer never has to change for a new one.
  return todo('topicMatches()', 'Hint 1: topic words, # and *')
  // @end
}

/** The queues a message with this routing key goes to, each once, in the
 * order of their first matching binding. */
export function route(
  type: ExchangeType,
  bindings: Binding[],
  routingKey: string,
): string[] {
  // @solution
  const matching = bindings.filter((binding) =>
    type === 'fanout'
      ? true
      : type === 'direct'
        ? binding.key === routingKey
        : topicMatches(binding.key, routingKey),
  )
  // @skeleton
  // 🐨 Keep the bindings that match: every one for a fanout exchange, the
  //    ones whose key equals the routing key for a direct exchange, and
  //    topicMatches(binding.key, routingKey) for a topic exchange.
  // 🦉 Fanout is for "everyone must hear it" (the audit log); direct for
  //    "exactly this channel" (email).
  const matching: Binding[] = todo(
    'route(): which bindings match',
    'Hint 2: direct and fanout',
  )
  // @end
  // @solution
  // One copy per queue: a queue with two matching bindings gets it once.
  return [...new Set(matching.map((binding) => binding.queue))]
  // @skeleton
  // 🐨 Return the queues of the matching bindings, each once, in order.
  // 🦉 A queue bound with link.* and link.# must not count a click twice.
  return todo('route(): each queue once', 'Hint 3: one copy per queue')
  // @end
}
