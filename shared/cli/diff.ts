// npm run diff -- 3 4: what step 4 changed in step 3's code, as a stat and a
// patch, code first. Left out unless asked for: the lesson's prose
// (--readme) and the reference answer of the exercise (--with-solution),
// so that reading the diff before the exercise gives nothing away.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { conceptFiles, findStep, listSteps, type Step } from '../steps'
import './pipe'

const args = process.argv.slice(2)
const withSolution = args.includes('--with-solution')
const withReadme = args.includes('--readme')
const [fromArg, toArg] = args.filter((arg) => !arg.startsWith('--'))

function usage(message: string): never {
  const known = listSteps().map((step) => step.number)
  console.error(
    `${message}\nUsage: npm run diff -- 3 4 [--readme] [--with-solution]   (steps so far: ${known.join(', ')})`,
  )
  process.exit(2)
}

if (!fromArg || !toArg) usage('Name two steps.')
const from = findStep(fromArg)
const to = findStep(toArg)
if (!from) usage(`Step ${fromArg} does not exist yet.`)
if (!to) usage(`Step ${toArg} does not exist yet.`)

const NOISE = ['exercise', 'node_modules', 'data'].map(
  (d) => `${sep}${d}${sep}`,
)
// The answers of the exercises that come after `from`, up to `to`.
const answers = listSteps()
  .filter((step) => step.number > from.number && step.number <= to.number)
  .flatMap((step) => conceptFiles(step))
  .map((concept) => relative(to.dir, concept.src))
const hidden = new Set([
  ...(withSolution ? [] : answers),
  ...(withReadme ? [] : ['README.md']),
])

// The tests of the earlier step's concepts are not carried over: showing
// them as deleted would hide the new ones. Only tests both steps have, or
// the later step adds, are compared.
function keep(source: string, step: Step): boolean {
  if (NOISE.some((noise) => `${source}${sep}`.includes(noise))) return false
  const inner = relative(step.dir, source)
  if (hidden.has(inner)) return false
  if (step !== from || !inner.startsWith(`test${sep}`)) return true
  return existsSync(join(to!.dir, inner))
}

const work = mkdtempSync(join(tmpdir(), 'step-diff-'))
try {
  for (const step of [from, to]) {
    cpSync(step.dir, join(work, step.id), {
      recursive: true,
      filter: (source) => keep(source, step),
    })
  }
  // No pager: a learner must never be left inside `less` by a lesson.
  const git = (...options: string[]) =>
    spawnSync(
      'git',
      ['--no-pager', 'diff', '--no-index', '-M', ...options, from.id, to.id],
      { cwd: work, stdio: 'inherit' },
    )
  const stat = git('--stat=100')
  if (stat.error) {
    console.error(
      'npm run diff needs git on PATH (https://git-scm.com/downloads).',
    )
    process.exit(2)
  }
  git()
  console.log(
    `\n(${from.id} -> ${to.id}; not shown: the exercise masters and the earlier step's own tests)`,
  )
  if (!withReadme) console.log("The lesson's changes: add --readme.")
  if (!withSolution && answers.length > 0) {
    console.log(
      `Left out, as it is the exercise's answer: ${answers.join(', ')}. Add --with-solution to see it.`,
    )
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
