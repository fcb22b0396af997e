// npm test                      every test; exercise tests use solutions/
// npm test -- step04            step 4's tests; its exercise tests use YOUR
//                               code in exercises/ (red until you solve it)
// npm test -- step04 --solution the same against the reference solution
// Other arguments go to Jest (e.g. -t "round-robin").
import { spawnSync } from 'node:child_process'
import { relative } from 'node:path'
import { ROOT, findStep, listSteps } from '../steps'

const args = process.argv.slice(2)
const solution = args.includes('--solution')
const stepArgs = args.filter((arg) => /^(step)?\d+(-.*)?$/i.test(arg))
const jestArgs = args.filter(
  (arg) => arg !== '--solution' && !stepArgs.includes(arg),
)

const steps = stepArgs.map((arg) => {
  const step = findStep(arg)
  if (!step) {
    const known = listSteps()
      .map((s) => s.id)
      .join(', ')
    console.error(`There is no step "${arg}" yet. Steps: ${known}.`)
    process.exit(2)
  }
  return step
})

// A learner checking one step works on exercises/; the whole run is the
// workshop's own proof and uses the reference solutions.
const target = steps.length > 0 && !solution ? 'exercises' : 'solutions'
const paths = steps.map((step) => relative(ROOT, step.dir) + '/')
if (steps.length > 0) {
  const where =
    target === 'exercises'
      ? 'your code in exercises/'
      : 'the reference in solutions/'
  console.log(`Exercise tests run against ${where}.\n`)
}

const result = spawnSync(
  process.execPath,
  [require.resolve('jest/bin/jest'), ...jestArgs, ...paths],
  {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, WORKSHOP_EXERCISES: target },
  },
)
process.exit(result.status ?? 1)
