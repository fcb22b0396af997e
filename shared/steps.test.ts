import { listSteps, movedFiles } from './steps'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'

describe('steps', () => {
  it('finds a file that changed folder between two steps, and nothing in a step that only adds', () => {
    const before = ['app/app.ts', 'balancer/load-balancer.ts', 'system.ts']
    expect(movedFiles(before, [...before, 'cache/cached-store.ts'])).toEqual([])
    expect(
      movedFiles(before, ['app/app.ts', 'app/load-balancer.ts', 'system.ts']),
    ).toEqual(['balancer/load-balancer.ts moved to app/load-balancer.ts'])
  })

  it('keeps every file of every step in its folder from one step to the next', () => {
    const srcOf = (dir: string) =>
      readdirSync(join(dir, 'src'), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) =>
          relative(join(dir, 'src'), join(entry.parentPath, entry.name)),
        )
    const steps = listSteps()
    const moves = steps
      .slice(1)
      .flatMap((step, i) => movedFiles(srcOf(steps[i]!.dir), srcOf(step.dir)))
    expect(moves).toEqual([])
  })
})
