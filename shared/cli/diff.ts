// npm run diff -- 3 4: what step 4 changed in step 3's code, as a stat and a
// patch. Noise is left out: the exercise masters (their src/ copy shows the
// same code) and anything that is not part of the lesson.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, relative, sep } from 'node:path'
import { findStep, listSteps, type Step } from '../steps'

const NOISE = [
  `${sep}exercise${sep}`,
  `${sep}node_modules${sep}`,
  `${sep}data${sep}`,
]

function usage(message: string): never {
  const known = listSteps().map((step) => step.number)
  console.error(
    `${message}\nUsage: npm run diff -- 3 4   (steps so far: ${known.join(', ')})`,
  )
  process.exit(2)
}

const [fromArg, toArg] = process.argv.slice(2)
if (!fromArg || !toArg) usage('Name two steps.')
const from = findStep(fromArg)
const to = findStep(toArg)
if (!from) usage(`Step ${fromArg} does not exist yet.`)
if (!to) usage(`Step ${toArg} does not exist yet.`)

// The tests of the earlier step's concepts are not carried over: showing
// them as deleted would hide the new ones. Only tests both steps have, or
// the later step adds, are compared.
function keep(source: string, step: Step): boolean {
  if (NOISE.some((noise) => `${source}${sep}`.includes(noise))) return false
  const inner = relative(step.dir, source)
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
  const git = (...args: string[]) =>
    spawnSync('git', ['diff', '--no-index', '-M', ...args, from.id, to.id], {
      cwd: work,
      stdio: 'inherit',
    })
  const stat = git('--stat=100')
  if (stat.error) {
    console.error(
      'npm run diff needs git on PATH (https://git-scm.com/downloads).',
    )
    process.exit(2)
  }
  git()
  console.log(
    `\n(${basename(from.dir)} -> ${basename(to.dir)}; left out: exercise masters and the earlier step's own tests)`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
}
