// Typical wrong answers to this exercise. `npm run verify:exercises` proves
// that each one fails a test whose message names the hint that fixes it.
import type { Mutant } from '../../../shared/mutants'

export const mutants: Mutant[] = [
  {
    name: '# needs at least one word: a.# does not match a',
    hint: 'Hint 1: topic words, # and *',
    replace: `result = matches(i + 1, j) || (j < key.length && matches(i, j + 1))`,
    with: `result =
        j < key.length && (matches(i + 1, j + 1) || matches(i, j + 1))`,
  },
  {
    name: '# swallows the rest of the key, whatever follows it in the pattern',
    hint: 'Hint 1: topic words, # and *',
    replace: `result = matches(i + 1, j) || (j < key.length && matches(i, j + 1))`,
    with: `result = true`,
  },
  {
    name: '* matches zero or more words, as # does',
    hint: 'Hint 1: topic words, # and *',
    replace: `else if (pattern[i] === '#')`,
    with: `else if (pattern[i] === '#' || pattern[i] === '*')`,
  },
  {
    name: '* does not match an empty word (a.*.c against a..c)',
    hint: 'Hint 1: topic words, # and *',
    replace: `(pattern[i] === '*' || pattern[i] === key[j])`,
    with: `((pattern[i] === '*' && key[j] !== '') || pattern[i] === key[j])`,
  },
  {
    name: 'words are compared without case',
    hint: 'Hint 1: topic words, # and *',
    replace: `(pattern[i] === '*' || pattern[i] === key[j])`,
    with: `(pattern[i] === '*' ||
          pattern[i]?.toLowerCase() === key[j]?.toLowerCase())`,
  },
  {
    name: 'a prefix matches: words of the key left over are ignored',
    hint: 'Hint 1: topic words, # and *',
    replace: `if (i === pattern.length) result = j === key.length`,
    with: `if (i === pattern.length) result = true`,
  },
  {
    name: 'empty words are dropped, so a.*.c does not match a..c',
    hint: 'Hint 1: topic words, # and *',
    replace: `  const key = words(routingKey)`,
    with: `  const key = words(routingKey).filter(Boolean)`,
  },
  {
    name: 'the keys are split by hand: "" becomes one empty word, and * matches it',
    hint: 'Hint 1: topic words, # and *',
    replace: `  const pattern = words(bindingKey)
  const key = words(routingKey)`,
    with: `  const pattern = bindingKey.split('.')
  const key = routingKey.split('.')`,
  },
  {
    name: 'the right recursion, without remembering answers: exponential on many #s',
    hint: 'Hint 1: topic words, # and *',
    replace:
      '    const memo = seen.get(`${i} ${j}`)\n    if (memo !== undefined) return memo\n',
    with: '',
  },
  {
    name: 'direct bindings are matched as topic patterns',
    hint: 'Hint 2: direct and fanout',
    replace: `? binding.key === routingKey`,
    with: `? topicMatches(binding.key, routingKey)`,
  },
  {
    name: 'direct keys are compared by prefix',
    hint: 'Hint 2: direct and fanout',
    replace: `? binding.key === routingKey`,
    with: `? routingKey.startsWith(binding.key)`,
  },
  {
    name: 'direct keys are compared without case',
    hint: 'Hint 2: direct and fanout',
    replace: `? binding.key === routingKey`,
    with: `? binding.key.toLowerCase() === routingKey.toLowerCase()`,
  },
  {
    name: 'a fanout exchange still compares keys, as a direct one does',
    hint: 'Hint 2: direct and fanout',
    replace: `type === 'fanout'
      ? true`,
    with: `type === 'fanout'
      ? binding.key === routingKey`,
  },
  {
    name: "topicMatches gets its arguments swapped: the message's key is the pattern",
    hint: 'Hint 2: direct and fanout',
    replace: `: topicMatches(binding.key, routingKey)`,
    with: `: topicMatches(routingKey, binding.key)`,
  },
  {
    name: 'a topic exchange compares keys exactly, as a direct one does',
    hint: 'Hint 2: direct and fanout',
    replace: `: topicMatches(binding.key, routingKey)`,
    with: `: binding.key === routingKey`,
  },
  {
    name: 'no de-duplication: a queue gets one copy per matching binding',
    hint: 'Hint 3: one copy per queue',
    replace: `return [...new Set(matching.map((binding) => binding.queue))]`,
    with: `return matching.map((binding) => binding.queue)`,
  },
  {
    name: 'the queues come back sorted by name, not in the order of their bindings',
    hint: 'Hint 3: one copy per queue',
    replace: `return [...new Set(matching.map((binding) => binding.queue))]`,
    with: `return [...new Set(matching.map((binding) => binding.queue))].sort()`,
  },
  {
    name: "each queue is kept at its last matching binding's place",
    hint: 'Hint 3: one copy per queue',
    replace: `return [...new Set(matching.map((binding) => binding.queue))]`,
    with: `return matching
    .map((binding) => binding.queue)
    .filter((queue, i, all) => all.lastIndexOf(queue) === i)`,
  },
  {
    name: 'only repeats side by side are dropped',
    hint: 'Hint 3: one copy per queue',
    replace: `return [...new Set(matching.map((binding) => binding.queue))]`,
    with: `return matching
    .map((binding) => binding.queue)
    .filter((queue, i, all) => queue !== all[i - 1])`,
  },
  {
    name: 'the bindings are de-duplicated, not the queues',
    hint: 'Hint 3: one copy per queue',
    replace: `return [...new Set(matching.map((binding) => binding.queue))]`,
    with: `return [...new Set(matching)].map((binding) => binding.queue)`,
  },
]
