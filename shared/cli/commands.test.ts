// The learner's commands, run as a learner runs them.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { isAlive, npmStart } from '../testing/npm-start'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { ROOT, conceptFiles, findStep } from '../steps'
import { tempDir } from '../testing/temp'

function run(script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(__dirname, script), ...args],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } },
  )
  return { status: result.status, output: result.stdout + result.stderr }
}

describe('npm run hint', () => {
  const dirs = tempDir()
  afterAll(() => dirs.remove())
  const hint = (...args: string[]) =>
    run('hint.ts', ['step03', ...args], { RUN_DIR: dirs.path }).output

  beforeAll(() => {
    // The last test run of the learner: the least-connections test is red.
    mkdirSync(join(dirs.path, 'tests'), { recursive: true })
    const message =
      'expected A\n\n💰 Stuck? Run npm run hint -- step03 for "Hint 2: least-connections".'
    writeFileSync(
      join(dirs.path, 'tests', 'step03.json'),
      JSON.stringify({
        at: Date.now(),
        suites: [
          {
            file: 'balancing-policy.test.ts',
            tests: [
              {
                name: 'takes the servers in turn',
                status: 'passed',
                message: '',
              },
              { name: 'picks the fewest', status: 'failed', message },
            ],
          },
        ],
      }),
    )
  })

  it("shows one more level of the first red test's hint each time, and remembers it", () => {
    const first = hint()
    expect(first).toMatch(/First red test: picks the fewest/)
    expect(first).toMatch(/Hint 2: least-connections, level 1 of 3: Nudge/)
    expect(hint()).toMatch(/level 2 of 3: Concept/)
    expect(hint()).toMatch(/level 3 of 3: The code[\s\S]*last level/)
    expect(hint()).toMatch(/level 3 of 3: The code/)
    const progress = JSON.parse(
      readFileSync(join(dirs.path, 'hints.json'), 'utf8'),
    )
    expect(progress).toEqual({ step03: { 'Hint 2: least-connections': 3 } })
  })

  it('shows a hint asked for by number, and starts again after --reset', () => {
    expect(hint('--hint', '3')).toMatch(/Hint 3: rise and fall, level 1 of 3/)
    hint('--reset')
    expect(hint()).toMatch(/Hint 2: least-connections, level 1 of 3/)
  })
})

describe('npm test keeps the results npm run hint reads', () => {
  const dirs = tempDir()
  afterAll(() => dirs.remove())
  const results = join(dirs.path, 'tests', 'step01.json')
  // Step 1's exercise tests: about a second on the skeleton.
  const keeps = (...args: string[]) => {
    rmSync(results, { force: true })
    run('test.ts', ['step01', ...args], { RUN_DIR: dirs.path })
    return existsSync(results)
  }

  it("keeps them only for a learner's run of every exercise test", () => {
    expect(keeps()).toBe(true)
    // The reference is green: hint would say so of the learner's code.
    expect(keeps('--solution')).toBe(false)
    // The tests left out by a name filter would not count as red.
    expect(keeps('-t', 'links: codes')).toBe(false)
    // Nor by any other option that narrows a run, known or not.
    expect(keeps('--onlyChanged')).toBe(false)
  })
})

describe('npm run diff', () => {
  const step3 = findStep('step03')!
  const [answer] = conceptFiles(step3)
  // Lines of the reference that no other file of the step has.
  const others = run('diff.ts', [
    '2',
    '3',
    '--with-solution',
    '--readme',
  ]).output
  const answerLines = readFileSync(answer!.src, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 30)

  it("prints no line of the exercise's reference, and says how to see it", () => {
    const { status, output } = run('diff.ts', ['2', '3'])
    expect(status).toBe(0)
    expect(output).toMatch(
      /src\/load-balancer|src\/balancer\/load-balancer\.ts/,
    )
    expect(answerLines.filter((line) => output.includes(line))).toEqual([])
    expect(output).toMatch(
      /balancing-policy\.ts\. Add --with-solution to see it/,
    )
  })

  it('shows the reference with --with-solution, and the lesson with --readme', () => {
    expect(answerLines.every((line) => others.includes(line))).toBe(true)
    expect(others).toMatch(/README\.md/)
    expect(run('diff.ts', ['2', '3']).output).not.toMatch(
      /\+\+\+ b\/[^\n]*README\.md/,
    )
  })
})

describe('npm run check:lessons', () => {
  const dirs = tempDir()
  afterAll(() => dirs.remove())
  const lesson = (redirect: string) =>
    [
      '```console',
      '$ npm start -- step01',
      '...',
      'Press Ctrl-C to stop every process.',
      '```',
      '',
      '```console',
      '$ curl -s -X POST localhost:3000/api/links -H \'Content-Type: application/json\' -d \'{"url":"https://example.com/","alias":"hello"}\'',
      '{"code":"hello","shortUrl":"http://127.0.0.1:3000/hello",<any>}',
      "$ curl -s -o /dev/null -w '%{http_code}\\n' localhost:3000/hello",
      redirect,
      '```',
    ].join('\n')
  const check = (text: string) => {
    const file = join(dirs.path, `lesson-${Date.now()}.md`)
    writeFileSync(file, text)
    return run('check-lessons.ts', ['step01', '--file', file])
  }

  it('passes a lesson whose outputs are what its commands print', () => {
    const { status, output } = check(lesson('302'))
    expect(output).toMatch(/3 outputs compared, 0 differ/)
    expect(status).toBe(0)
  })

  it('fails a lesson whose expected output was edited, and shows both', () => {
    const { status, output } = check(lesson('301'))
    expect(status).toBe(1)
    expect(output).toMatch(/the lesson shows:\s+\| 301\s+it printed:\s+\| 302/)
  })

  it('runs a "check: start step02" block against step 2, then the lesson\'s own step again', () => {
    const runs = (file: string) =>
      ['```console', '$ ls "$RUN_DIR"', file, '```'].join('\n')
    const { status, output } = check(
      [
        runs('step01.json'),
        '<!-- check: start step02 -->',
        runs('step02.json'),
        runs('step01.json'),
      ].join('\n\n'),
    )
    expect(output).toMatch(/3 outputs compared, 0 differ/)
    expect(status).toBe(0)
  })

  it('leaves no block out: an unknown directive such as "skip" is an error', () => {
    const { status, output } = check(
      ['<!-- check: skip -->', '```console', '$ true', 'never', '```'].join(
        '\n',
      ),
    )
    expect(output).toMatch(/unknown "check: skip"/)
    expect(status).toBe(1)
  })
})

describe('npm run chaos', () => {
  it('kills and restarts a node of a running step by name, and the topology file follows', async () => {
    const started = await npmStart('step03')
    const env = { RUN_DIR: join(started.runFile, '..') }
    try {
      const before = started.topology.nodes.find((n) => n.name === 'app-2')!
      expect(run('chaos.ts', ['step03', 'kill', 'app-2'], env).output).toMatch(
        /Killed app-2/,
      )
      expect(isAlive(before.pid)).toBe(false)
      const down = JSON.parse(readFileSync(started.runFile, 'utf8'))
      expect(
        down.nodes.find((n: { name: string }) => n.name === 'app-2').state,
      ).toBe('down')

      expect(
        run('chaos.ts', ['step03', 'restart', 'app-2'], env).output,
      ).toMatch(/Restarted app-2: pid \d+/)
      const up = JSON.parse(readFileSync(started.runFile, 'utf8'))
      const app2 = up.nodes.find((n: { name: string }) => n.name === 'app-2')
      expect(app2).toMatchObject({ state: 'up', url: before.url })
      expect(isAlive(app2.pid)).toBe(true)
      expect(run('chaos.ts', ['step03', 'kill', 'app-9'], env).output).toMatch(
        /No node "app-9"/,
      )
    } finally {
      await started.stop('ctrl-c')
    }
  })
})

describe('npm start', () => {
  it('says which port another program holds, and how to start elsewhere, when a node cannot listen', async () => {
    const dirs = tempDir()
    const holder = createServer()
    await new Promise<void>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve()),
    )
    const port = (holder.address() as AddressInfo).port
    try {
      const { status, output } = run('start.ts', ['step01'], {
        PORT: String(port),
        RUN_DIR: join(dirs.path, 'run'),
        DATA_DIR: join(dirs.path, 'data'),
      })
      expect(status).toBe(1)
      expect(output).toContain(
        `Another program listens on 127.0.0.1:${port}, a port this step needs`,
      )
      expect(output).toContain('PORT=5000 npm start -- step01')
    } finally {
      holder.close()
      dirs.remove()
    }
  })
})
