// Where the steps are, and which of their files make up each exercise.
import { existsSync, readdirSync } from 'node:fs'
import { basename, join } from 'node:path'

export const ROOT = join(__dirname, '..')

export interface Step {
  number: number
  /** The folder name, e.g. "step01-single-server". */
  id: string
  dir: string
}

export function listSteps(root = ROOT): Step[] {
  const stepsDir = join(root, 'steps')
  if (!existsSync(stepsDir)) return []
  return readdirSync(stepsDir)
    .filter((id) => /^step\d\d-/.test(id))
    .sort()
    .map((id) => ({
      number: Number(id.slice(4, 6)),
      id,
      dir: join(stepsDir, id),
    }))
}

// Accepts "step04", "04", "4" or the full folder name.
export function findStep(arg: string, root = ROOT): Step | undefined {
  const match = /^(?:step)?0*(\d+)(?:-.*)?$/i.exec(arg)
  if (!match) return undefined
  return listSteps(root).find((step) => step.number === Number(match[1]))
}

export function masterFiles(step: Step): string[] {
  const dir = join(step.dir, 'exercise')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .sort()
    .map((file) => join(dir, file))
}

// The tests of an exercise are the test files named after its concept files.
export function exerciseTestFiles(step: Step): string[] {
  return masterFiles(step)
    .map((master) =>
      join(step.dir, 'test', basename(master, '.ts') + '.test.ts'),
    )
    .filter((path) => existsSync(path))
}
