import { mismatch, parseLesson } from './lessons'

describe('lessons: commands and the outputs they promise', () => {
  it('reads each console block into commands with their expected output', () => {
    const lesson = [
      '<!-- check: start ACK_MODE=semi-sync -->',
      '',
      '```console',
      '$ curl -s localhost:3000/healthz',
      '{"status":"ok","node":"app-<n>"}',
      '$ long \\',
      '  command',
      '$ quiet',
      '```',
      '',
      '```sh',
      '$ not checked',
      '```',
    ].join('\n')
    expect(parseLesson(lesson)).toEqual([
      {
        line: 3,
        directive: 'start ACK_MODE=semi-sync',
        commands: [
          {
            command: 'curl -s localhost:3000/healthz',
            expected: ['{"status":"ok","node":"app-<n>"}'],
            line: 4,
          },
          { command: 'long \\\n  command', expected: null, line: 6 },
          { command: 'quiet', expected: null, line: 8 },
        ],
      },
    ])
  })

  it('matches placeholders, runs of spaces and "..." for any lines', () => {
    const expected = [
      'HTTP/1.1 302 Found',
      '...',
      'location:  https://example.com/<code>',
      'x-served-by: app-<n>',
    ]
    const actual = [
      'HTTP/1.1 302 Found',
      'date: today',
      'vary: none',
      'location: https://example.com/Ab3_x-9',
      'x-served-by: app-2',
    ]
    expect(mismatch(expected, actual)).toBeUndefined()
    expect(mismatch(['...'], [])).toBeUndefined()
  })

  it('names the first expected line that the output does not give', () => {
    expect(mismatch(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual({
      expected: 'b',
      index: 1,
    })
    expect(mismatch(['<n> links'], ['many links'])).toEqual({
      expected: '<n> links',
      index: 0,
    })
    expect(mismatch(['a'], ['a', 'extra'])).toBeDefined()
  })
})
