// Where the steps are, and which of their files make up each exercise.
import { existsSync, readdirSync } from 'node:fs'
import { basename, join, relative, sep } from 'node:path'

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

/** "step04": the short name the commands and .run/ files use. */
export const shortName = (step: Step) => step.id.slice(0, 6)

export interface ConceptFile {
  /** steps/<step>/exercise/<box>/<file>.ts: the one marked-up source. */
  master: string
  /** Where the running reference lives: steps/<step>/src/<box>/<file>.ts. */
  src: string
  /** The learner's copy, exercises/<step>/<file>.ts. */
  exercise: string
  /** The reference copy, solutions/<step>/<file>.ts. */
  solution: string
}

// A master sits under exercise/ in the same box folder as its src/ copy.
export function conceptFiles(step: Step, root = ROOT): ConceptFile[] {
  const dir = join(step.dir, 'exercise')
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && file.includes(sep))
    .sort()
    .map((file) => ({
      master: join(dir, file),
      src: join(step.dir, 'src', file),
      exercise: join(root, 'exercises', step.id, basename(file)),
      solution: join(root, 'solutions', step.id, basename(file)),
    }))
}

/** The hints and the typical wrong answers of a step's exercise. */
export const hintsFile = (step: Step) => join(step.dir, 'exercise', 'hints.md')
export const mutantsFile = (step: Step) =>
  join(step.dir, 'exercise', 'mutants.ts')

// The tests of an exercise are the test files named after its concept files.
export function exerciseTestFiles(step: Step): string[] {
  return conceptFiles(step)
    .map(({ src }) => join(step.dir, 'test', basename(src, '.ts') + '.test.ts'))
    .filter((path) => existsSync(path))
}

export const fromRoot = (path: string) => relative(ROOT, path)

/** Where the live topologies, test results and hint progress are kept. */
export const runDir = () => process.env.RUN_DIR ?? join(ROOT, '.run')

/** Files (paths relative to src/) found in another folder in the next step:
 * "balancer/x.ts moved to app/x.ts". A box's code stays where it was. */
export function movedFiles(before: string[], after: string[]): string[] {
  const kept = new Set(after)
  return before
    .filter((file) => !kept.has(file))
    .flatMap((file) =>
      after
        .filter((other) => basename(other) === basename(file))
        .map((other) => `${file} moved to ${other}`),
    )
}
