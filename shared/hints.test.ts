import { firstRed, hintNamed, parseHints } from './hints'

const HINTS = `# Hints

## Hint 1: turns

### Nudge

Walk the list.

### The code

\`\`\`ts
return next++
\`\`\`

## Hint 2: health

### Nudge

Count in a row.
`

describe('hints: levels from a hints file', () => {
  it('reads each hint with its levels in order', () => {
    expect(parseHints(HINTS)).toEqual([
      {
        title: 'Hint 1: turns',
        levels: [
          { name: 'Nudge', text: 'Walk the list.' },
          { name: 'The code', text: '```ts\nreturn next++\n```' },
        ],
      },
      {
        title: 'Hint 2: health',
        levels: [{ name: 'Nudge', text: 'Count in a row.' }],
      },
    ])
  })

  it('finds the hint a failure message names', () => {
    const message =
      'expect(received).toBe(expected)\n\n💰 Stuck? Run npm run hint -- step03 for "Hint 2: health".'
    expect(hintNamed(message)).toBe('Hint 2: health')
    expect(hintNamed('expect(received).toBe(expected)')).toBeUndefined()
  })

  it('points at the first red test, in file order', () => {
    const test = (name: string, status: string, hint = '') => ({
      name,
      status,
      message: hint && `for "${hint}".`,
    })
    const results = {
      at: 0,
      suites: [
        {
          file: 'a',
          tests: [
            test('one', 'passed'),
            test('two', 'failed', 'Hint 2: health'),
          ],
        },
        { file: 'b', tests: [test('three', 'failed', 'Hint 1: turns')] },
      ],
    }
    expect(firstRed(results)).toEqual({
      kind: 'red',
      test: 'two',
      hint: 'Hint 2: health',
    })
    expect(
      firstRed({
        at: 0,
        suites: [{ file: 'a', tests: [test('one', 'passed')] }],
      }),
    ).toEqual({
      kind: 'green',
    })
  })
})
