// Which queues a message reaches: RabbitMQ's routing, the model this step
// copies. A direct exchange matches the routing key exactly; a fanout
// exchange ignores keys and copies to every bound queue; a topic exchange
// matches dot-separated words, where `*` is exactly one word and `#` is zero
// or more. Either way a queue gets one copy, however many of its bindings
// match. Trade-off: topics let consumers subscribe to patterns the
// producer never heard of; every publish pays the matching.

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
}

/** The queues a message with this routing key goes to, each once, in the
 * order of their first matching binding. */
export function route(
  type: ExchangeType,
  bindings: Binding[],
  routingKey: string,
): string[] {
  const matching = bindings.filter((binding) =>
    type === 'fanout'
      ? true
      : type === 'direct'
        ? binding.key === routingKey
        : topicMatches(binding.key, routingKey),
  )
  // One copy per queue: a queue with two matching bindings gets it once.
  return [...new Set(matching.map((binding) => binding.queue))]
}
