import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compiled } from './build'
import { ROOT } from './steps'

// A small program of its own under .run/ (git-ignored), built like a step.
describe('the build cache of node processes', () => {
  const dir = join(ROOT, '.run', `build-test-${process.pid}`)
  const main = join(dir, 'main.ts')
  const run = (script: string) =>
    spawnSync(process.execPath, ['--enable-source-maps', script], {
      encoding: 'utf8',
    })
  beforeAll(() => mkdirSync(dir, { recursive: true }))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('picks up an edit to a source file at the next start, and reuses the build otherwise', async () => {
    writeFileSync(join(dir, 'greeting.ts'), "export const greeting = 'hello'\n")
    writeFileSync(
      main,
      "import { greeting } from './greeting'\nconsole.log(greeting, __dirname)\n",
    )
    const first = await compiled(main)
    expect(run(first).stdout).toBe(`hello ${dir}\n`)
    expect(await compiled(main)).toBe(first)
    writeFileSync(join(dir, 'greeting.ts'), "export const greeting = 'hi'\n")
    const second = await compiled(main)
    expect(second).not.toBe(first)
    expect(run(second).stdout).toBe(`hi ${dir}\n`)
  })

  it('names the .ts file and line in the stack trace of a compiled node', async () => {
    writeFileSync(
      main,
      [
        'const answer: number = 42',
        'function fail(): never {',
        "  throw new Error('on purpose')",
        '}',
        'fail()',
        '',
      ].join('\n'),
    )
    const { stderr } = run(await compiled(main))
    expect(stderr).toMatch(/Error: on purpose/)
    expect(stderr).toMatch(
      new RegExp(
        `${join(dir, 'main.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3`,
      ),
    )
  })
})
