// Typical wrong answers of an exercise, kept next to its master in
// steps/<step>/exercise/mutants.ts, and the proof that the exercise tests
// reject each one with a message that names the hint that fixes it. A mutant
// is the reference solution with one exact piece of text replaced.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, relative } from 'node:path'
import { moveImports, render } from './exercises'
import { hintNamed } from './hints'
import {
  ROOT,
  conceptFiles,
  exerciseTestFiles,
  mutantsFile,
  runDir,
  type ConceptFile,
  type Step,
} from './steps'

export interface Mutant {
  /** The mistake, as a learner would make it. */
  name: string
  /** The hint that fixes it: some failing test must name this one. */
  hint: string
  /** The concept file, as under src/ (e.g. "balancer/balancing-policy.ts");
   * needed only when the exercise has more than one. */
  file?: string
  /** Text of the solution that occurs exactly once... */
  replace: string
  /** ...and what the mistake writes instead. */
  with: string
}

export function loadMutants(step: Step): Mutant[] {
  const file = mutantsFile(step)
  if (!existsSync(file)) return []
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { mutants: Mutant[] }).mutants
}

export interface JestTest {
  fullName: string
  status: string
  failureMessages: string[]
  failureDetails: { matcherResult?: unknown; name?: string }[]
}
export interface JestFile {
  name: string
  message: string
  assertionResults: JestTest[]
}

/** Runs a step's exercise tests with the concept files taken from `folder`
 * (exercises, solutions, or an absolute path), and records every swap. */
export function runExerciseTests(
  step: Step,
  folder: string,
): { files: JestFile[]; swaps: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'exercise-run-'))
  const output = join(dir, 'results.json')
  const swaps = join(dir, 'swaps.log')
  spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--selectProjects',
      'exercise',
      // A wrong answer may stop a system half started: never wait on it.
      '--forceExit',
      '--json',
      `--outputFile=${output}`,
      ...exerciseTestFiles(step),
    ],
    {
      cwd: ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        WORKSHOP_EXERCISES: folder,
        WORKSHOP_RESOLVE_LOG: swaps,
      },
    },
  )
  try {
    const files = existsSync(output)
      ? (
          JSON.parse(readFileSync(output, 'utf8')) as {
            testResults: JestFile[]
          }
        ).testResults
      : []
    const swapped = existsSync(swaps)
      ? readFileSync(swaps, 'utf8').trim().split('\n').filter(Boolean)
      : []
    return { files, swaps: swapped.map((line) => line.split('\t')[1]!) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Writes the solution of every concept file, with `change` applied to one,
 * into a folder of its own, and returns that folder. */
function writeVariant(
  step: Step,
  name: string,
  change: (concept: ConceptFile, source: string) => string,
): string {
  const folder = join(runDir(), 'mutants', `${name}-${process.pid}`)
  rmSync(folder, { recursive: true, force: true })
  for (const concept of conceptFiles(step)) {
    const where = relative(ROOT, concept.master)
    const solution = render(
      readFileSync(concept.master, 'utf8'),
      'solution',
      where,
    )
    const path = join(folder, step.id, basename(concept.src))
    mkdirSync(join(path, '..'), { recursive: true })
    const source = moveImports(change(concept, solution), concept.src, path)
    writeFileSync(path, source)
  }
  return folder
}

/** Undefined when some test fails naming the mutant's hint; else the problem. */
export async function checkMutant(
  step: Step,
  mutant: Mutant,
): Promise<string | undefined> {
  const concepts = conceptFiles(step)
  const target =
    concepts.find(
      (c) => relative(join(step.dir, 'src'), c.src) === mutant.file,
    ) ?? (concepts.length === 1 ? concepts[0] : undefined)
  if (!target) return `mutant "${mutant.name}": name its file`
  let applied = 0
  const folder = writeVariant(step, 'mutant', (concept, source) => {
    if (concept.src !== target.src) return source
    applied = source.split(mutant.replace).length - 1
    return source.replace(mutant.replace, mutant.with)
  })
  try {
    if (applied !== 1)
      return `mutant "${mutant.name}": its text occurs ${applied} times in the solution, not once`
    const failed = runExerciseTests(step, folder).files.flatMap((file) =>
      file.assertionResults.filter((test) => test.status === 'failed'),
    )
    if (failed.length === 0) return `mutant "${mutant.name}" passes every test`
    const hints = failed.map((test) =>
      hintNamed(test.failureMessages.join('\n')),
    )
    if (hints.includes(mutant.hint)) return undefined
    const named = [...new Set(hints.filter(Boolean))]
    return `mutant "${mutant.name}" fails ${failed.length} test(s), but ${
      named.length ? `they name ${named.join(', ')}` : 'they name no hint'
    }, not "${mutant.hint}"`
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

// The sentinel: a copy of the solution that throws as it loads. Every
// exercise test file must then fail to run, with that error, and every swap
// must have loaded the copy: a test that reached the reference in src/
// through a path the resolver missed would pass here.
export async function checkSentinel(step: Step): Promise<string[]> {
  const marker = `workshop sentinel ${Date.now()}`
  const folder = writeVariant(
    step,
    'sentinel',
    (concept, source) => `${source}\nthrow new Error('${marker}')\n`,
  )
  try {
    const { files, swaps } = runExerciseTests(step, folder)
    const problems = files
      .filter((file) => !file.message.includes(marker))
      .map(
        (file) =>
          `${relative(ROOT, file.name)} runs without loading the exercise file it tests`,
      )
    if (swaps.length === 0 || swaps.some((swap) => !swap.startsWith(folder)))
      problems.push(
        `${step.id}: the exercise tests did not load the copies given`,
      )
    if (files.length !== exerciseTestFiles(step).length)
      problems.push(`${step.id}: not every exercise test file ran`)
    return problems
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
