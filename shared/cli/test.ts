// npm test                      every test; exercise tests use solutions/
// npm test -- step04            step 4's exercise tests against YOUR code in
//                               exercises/ (red until you solve it)
// npm test -- step04 --solution the same against the reference solution
// npm test -- step04 --all      also the step's own tests (the reference code)
// npm test -- step04 --logs     also what the app under test prints
// npm run test:faults           the long fault runs (recorded histories)
// npm run test:faults -- step07 one step's fault runs
// npm run test:browser          the dashboard in a real headless Chromium
// Other arguments go to Jest (e.g. -t "round-robin").
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, relative } from 'node:path'
import {
  ROOT,
  exerciseTestFiles,
  findStep,
  listSteps,
  shortName,
} from '../steps'
import { resultsFile } from '../hints'

const FLAGS = ['--solution', '--all', '--logs', '--faults', '--browser']
const RESULTS_REPORTER = join(ROOT, 'shared', 'testing', 'results-reporter.js')
const args = process.argv.slice(2)
const has = (flag: string) => args.includes(flag)
const stepArgs = args.filter((arg) => /^(step)?\d+(-.*)?$/i.test(arg))
const jestArgs = args.filter(
  (arg) => !FLAGS.includes(arg) && !stepArgs.includes(arg),
)
// Jest's default (cores - 1) runs one file at a time on a 2-core machine;
// the tests are built for a busy machine, so two at once halve the time.
// The fault runs keep one at a time: they time kills and recoveries.
const workers =
  has('--faults') ||
  has('--browser') ||
  jestArgs.some((arg) => /^(-w|-i|--maxWorkers|--runInBand)/.test(arg))
    ? []
    : [`--maxWorkers=${Math.max(2, availableParallelism() - 1)}`]

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
const target =
  steps.length > 0 && !has('--solution') ? 'exercises' : 'solutions'
// Fault tests are the step's own tests: --faults takes the whole folder.
const paths = steps.flatMap((step) =>
  has('--all') || has('--faults')
    ? [relative(ROOT, step.dir) + '/']
    : exerciseTestFiles(step).map((file) => relative(ROOT, file)),
)
if (steps.length > 0) {
  const where =
    target === 'exercises'
      ? 'your code in exercises/'
      : 'the reference in solutions/'
  const scope = has('--all')
    ? 'Every test of the step; exercise tests'
    : 'Exercise tests'
  console.log(`${scope} run against ${where}.\n`)
}

// The results of a learner's run are kept for `npm run hint`, which points
// at the first red test. Only a run of all of one step's exercise tests on
// the learner's code counts: after a run of the reference, of the step's
// own tests or of a few exercise tests by name, it would say "all green"
// while the learner's code is still red. Any Jest option but these few may
// narrow the run (-t, --onlyChanged, --shard...): then it does not count.
const WHOLE_RUN =
  /^(-i|--runInBand|-w|--maxWorkers|--verbose|--silent|--ci|--colors)(=.*)?$/
const learnersRun =
  steps.length === 1 &&
  target === 'exercises' &&
  !['--all', '--faults', '--browser'].some(has) &&
  jestArgs.every((arg) => WHOLE_RUN.test(arg))
const results = learnersRun ? resultsFile(steps[0]!) : undefined
if (results) mkdirSync(join(results, '..'), { recursive: true })

const result = spawnSync(
  process.execPath,
  [
    require.resolve('jest/bin/jest'),
    ...workers,
    ...jestArgs,
    ...paths,
    // After the paths: --selectProjects takes every value after it.
    ...(has('--faults') ? ['--selectProjects', 'faults'] : []),
    ...(has('--browser') ? ['--runInBand', '--selectProjects', 'browser'] : []),
    // Last: --reporters takes every value after it.
    ...(results
      ? ['--reporters=default', `--reporters=${RESULTS_REPORTER}`]
      : []),
  ],
  {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      WORKSHOP_EXERCISES: target,
      WORKSHOP_RESULTS: results ?? '',
      ...(has('--logs') ? { WORKSHOP_LOGS: '1' } : {}),
      ...(has('--faults') ? { WORKSHOP_FAULTS: '1' } : {}),
      ...(has('--browser') ? { WORKSHOP_BROWSER: '1' } : {}),
    },
  },
)
if (
  target === 'exercises' &&
  !has('--faults') &&
  !has('--browser') &&
  result.status !== 0 &&
  paths.length > 0
) {
  console.log(
    `Not there yet? npm run hint -- ${shortName(steps[0]!)} shows the next hint for the first red test.`,
  )
}
process.exit(result.status ?? 1)
