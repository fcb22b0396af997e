// A lesson's commands, and the outputs it promises, as data. Every
// ```console block in a lesson is checked by `npm run check:lessons`:
//
//   $ curl -si localhost:3000/healthz        a command (a trailing \ goes on)
//   HTTP/1.1 200 OK                          the output it must print
//   ...                                      any number of lines
//   x-served-by: app-<n>                     a placeholder, see below
//
// A command with no output lines under it is run but not compared. Runs of
// spaces count as one. An HTML comment just before a block steers it:
// `<!-- check: start NAME=value -->` (re)starts the step with that setting,
// and `<!-- check: start step01 -->` runs that block against another step.

export interface LessonCommand {
  command: string
  /** null: run, but do not compare. */
  expected: string[] | null
  line: number
}

export interface LessonBlock {
  line: number
  directive?: string
  commands: LessonCommand[]
}

export function parseLesson(markdown: string): LessonBlock[] {
  const lines = markdown.split('\n')
  const blocks: LessonBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```console\s*$/.test(lines[i]!)) continue
    let before = i - 1
    while (before >= 0 && lines[before]!.trim() === '') before--
    const directive = /^<!--\s*check:\s*(.*?)\s*-->$/.exec(
      lines[before] ?? '',
    )?.[1]
    const block: LessonBlock = { line: i + 1, directive, commands: [] }
    let j = i + 1
    for (; j < lines.length && !/^```\s*$/.test(lines[j]!); j++) {
      const text = lines[j]!
      const current = block.commands.at(-1)
      if (text.startsWith('$ ')) {
        let command = text.slice(2)
        const line = j + 1
        // Kept as written: bash joins a line that ends in a backslash.
        while (command.endsWith('\\') && j + 1 < lines.length)
          command = `${command}\n${lines[++j]}`
        block.commands.push({ command, expected: null, line })
      } else if (current) {
        current.expected = [...(current.expected ?? []), text]
      }
    }
    for (const command of block.commands) {
      while (command.expected?.at(-1)?.trim() === '') command.expected.pop()
      if (command.expected?.length === 0) command.expected = null
    }
    blocks.push(block)
    i = j
  }
  return blocks
}

// What a placeholder in an expected line stands for.
const PLACEHOLDERS: Record<string, string> = {
  '<code>': '[0-9A-Za-z_-]+',
  '<n>': '-?\\d+(?:\\.\\d+)?',
  '<pid>': '\\d+',
  '<token>': '[0-9A-Za-z_-]+',
  '<date>': '.+',
  '<any>': '.*',
}

const normalise = (line: string) => line.replace(/\s+/g, ' ').trim()

function linePattern(expected: string): RegExp {
  const parts = normalise(expected).split(
    new RegExp(`(${Object.keys(PLACEHOLDERS).join('|')})`),
  )
  const source = parts
    .map(
      (part) =>
        PLACEHOLDERS[part] ?? part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('')
  return new RegExp(`^${source}$`)
}

/** The first expected line that the actual output does not give, or
 * undefined when it matches. `...` stands for any number of lines. */
export function mismatch(
  expected: string[],
  actual: string[],
): { expected: string; index: number } | undefined {
  const patterns = expected.map((line) =>
    line.trim() === '...' ? ('...' as const) : linePattern(line),
  )
  const lines = actual.map(normalise)
  let furthest = 0
  // memo[i][j]: can patterns from i match lines from j?
  const memo = new Map<string, boolean>()
  const matches = (i: number, j: number): boolean => {
    const key = `${i} ${j}`
    const known = memo.get(key)
    if (known !== undefined) return known
    furthest = Math.max(furthest, i)
    let result: boolean
    if (i === patterns.length) result = j === lines.length
    else if (patterns[i] === '...')
      result = matches(i + 1, j) || (j < lines.length && matches(i, j + 1))
    else
      result =
        j < lines.length &&
        (patterns[i] as RegExp).test(lines[j]!) &&
        matches(i + 1, j + 1)
    memo.set(key, result)
    return result
  }
  if (matches(0, 0)) return undefined
  const index = Math.min(furthest, expected.length - 1)
  return { expected: expected[index] ?? '(end of output)', index }
}
