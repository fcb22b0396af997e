// The dashboard's burst, and `npm run chaos -- stepNN burst`, which runs the
// same code from a terminal: against a stand-in front door named by a
// topology file, as a running step writes it.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { listen, type Handle } from '../net'
import { ROOT } from '../steps'
import { tempDir } from '../testing/temp'
import type { Topology } from '../topology'
import { burstPlan } from './burst'

describe('a burst', () => {
  it('is a bounded number of GETs of a code or of /, or a reason why not', () => {
    expect(burstPlan({})).toEqual({ requests: 1000, path: '/' })
    expect(burstPlan({ requests: '30', code: 'abc1234' })).toEqual({
      requests: 30,
      path: '/abc1234',
    })
    for (const requests of [0, 5001, 1.5, 'many', null])
      expect(burstPlan({ requests })).toEqual({
        error: 'requests: a whole number, 1 to 5000',
      })
    for (const code of ['../admin', '', 7])
      expect(burstPlan({ code })).toEqual({
        error: 'code: letters, digits, - and _',
      })
  })
})

describe('npm run chaos -- stepNN burst', () => {
  const dirs = tempDir()
  const seen: string[] = []
  let door: Handle
  beforeAll(async () => {
    // A front door that redirects every code and refuses one.
    door = await listen(
      createServer((req, res) => {
        seen.push(req.url ?? '')
        res.writeHead(req.url === '/gone' ? 410 : 302, { location: '/' })
        res.end()
      }),
    )
    const topology: Topology = {
      step: 'step03-load-balancer',
      frontDoor: door.url,
      dataDir: dirs.path,
      control: { url: 'http://127.0.0.1:9', token: 'unused' },
      nodes: [],
      links: [],
    }
    mkdirSync(join(dirs.path, 'run'))
    writeFileSync(
      join(dirs.path, 'run', 'step03.json'),
      JSON.stringify(topology),
    )
  })
  afterAll(async () => {
    await door.close()
    dirs.remove()
  })
  // Not spawnSync: the stand-in front door answers from this process.
  const chaos = (...args: string[]) =>
    new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'shared', 'cli', 'chaos.ts'), ...args],
        { cwd: ROOT, env: { ...process.env, RUN_DIR: join(dirs.path, 'run') } },
      )
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk))
      child.on('close', (status) => resolve({ status, output }))
    })

  it('sends n GETs of a code at the front door of the running step, and says how they went', async () => {
    seen.length = 0
    const { status, output } = await chaos('step03', 'burst', '40', 'abc1234')
    expect(status).toBe(0)
    expect(output).toMatch(/Burst: 40 × GET \/abc1234 at http:\/\/127\.0\.0\.1/)
    expect(output).toMatch(
      /Done: GET \/abc1234, 40 sent, 40 answered, 0 refused \(4xx\), 0 failed/,
    )
    expect(seen).toEqual(new Array(40).fill('/abc1234'))
    const gone = await chaos('step03', 'burst', '5', 'gone')
    expect(gone.output).toMatch(/5 sent, 0 answered, 5 refused \(4xx\)/)
  })

  it('refuses a burst out of bounds, and a step that is not running', async () => {
    seen.length = 0
    const tooMany = await chaos('step03', 'burst', '5001')
    expect(tooMany.status).toBe(2)
    expect(tooMany.output).toMatch(/requests: a whole number, 1 to 5000/)
    expect((await chaos('step03', 'burst', '5', '../x')).output).toMatch(
      /code: letters, digits/,
    )
    const stopped = await chaos('step04', 'burst')
    expect(stopped.status).toBe(2)
    expect(stopped.output).toMatch(
      /step04 is not running: start it with npm start -- step04/,
    )
    expect((await chaos('step03', 'explode')).output).toMatch(
      /Usage: npm run chaos/,
    )
    expect(seen).toEqual([])
  })
})
