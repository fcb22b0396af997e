// npm run verify:exercises [-- step03]: the proof that every exercise is a
// fair test.
//   1. the src/, exercises/ and solutions/ copies match their masters;
//   2. the skeletons type-check (a learner's first run must not be a type error);
//   3. every exercise test FAILS on the pristine skeleton, for an assertion or
//      a reached gap (todo()), never an import error, crash or timeout, and
//      its message names a hint;
//   4. every exercise test PASSES on the solution;
//   5. the tests load the copy they are given (the sentinel), never src/;
//   6. every typical wrong answer (mutants.ts) fails a test that names the
//      hint that fixes it.
import { spawnSync } from 'node:child_process'
import { relative } from 'node:path'
import { staleFiles } from '../exercises'
import { hintNamed } from '../hints'
import {
  checkMutant,
  checkSentinel,
  loadMutants,
  runExerciseTests,
  type JestTest,
} from '../mutants'
import {
  ROOT,
  exerciseTestFiles,
  findStep,
  listSteps,
  type Step,
} from '../steps'

const problems: string[] = []

// Why did a test fail on the skeleton? Only two reasons prove the test fair.
export function failureReason(test: JestTest): {
  ok: boolean
  reason: string
} {
  const message = test.failureMessages.join('\n')
  const detail = test.failureDetails[0] ?? {}
  if (/Exceeded timeout/.test(message)) return { ok: false, reason: 'timeout' }
  if (detail.matcherResult) return { ok: true, reason: 'assertion' }
  if (
    detail.name === 'NotImplementedError' ||
    /Not implemented yet|Reached a gap/.test(message)
  ) {
    return { ok: true, reason: 'gap reached (todo)' }
  }
  const first = message.split('\n')[0] ?? ''
  return { ok: false, reason: `unexpected error: ${first}` }
}

async function checkGenerated(): Promise<void> {
  for (const file of await staleFiles()) {
    problems.push(
      `${file} is not what its master generates: run npm run exercises:generate`,
    )
  }
}

function checkTypes(): void {
  for (const project of ['tsconfig.json', 'tsconfig.exercises.json']) {
    const tsc = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', project],
      { cwd: ROOT, encoding: 'utf8' },
    )
    if (tsc.status !== 0) {
      problems.push(`${project} does not type-check:\n${tsc.stdout}`)
    }
  }
}

function checkRed(step: Step): void {
  for (const file of runExerciseTests(step, 'exercises').files) {
    const where = relative(ROOT, file.name)
    console.log(`\n${where} on the skeleton:`)
    if (file.assertionResults.length === 0) {
      problems.push(
        `${where} did not run on the skeleton (import error?):\n${file.message}`,
      )
    }
    for (const test of file.assertionResults) {
      if (test.status !== 'failed') {
        problems.push(
          `${where}: "${test.fullName}" passes on the skeleton: it proves nothing`,
        )
        continue
      }
      const { ok, reason } = failureReason(test)
      const hint = hintNamed(test.failureMessages.join('\n'))
      console.log(
        `  ${ok && hint ? 'red' : 'BAD'}  ${test.fullName} (${reason})`,
      )
      if (!ok)
        problems.push(
          `${where}: "${test.fullName}" fails for the wrong reason: ${reason}`,
        )
      else if (!hint)
        problems.push(`${where}: "${test.fullName}" fails naming no hint`)
    }
  }
}

function checkGreen(step: Step): void {
  for (const file of runExerciseTests(step, 'solutions').files) {
    const where = relative(ROOT, file.name)
    const failed = file.assertionResults.filter(
      (test) => test.status !== 'passed',
    )
    if (file.assertionResults.length === 0)
      problems.push(`${where} did not run on the solution:\n${file.message}`)
    for (const test of failed)
      problems.push(`${where}: "${test.fullName}" fails on the solution`)
    console.log(
      `\n${where} on the solution: ${file.assertionResults.length - failed.length}/${file.assertionResults.length} pass`,
    )
  }
}

async function checkMutants(step: Step): Promise<void> {
  problems.push(...(await checkSentinel(step)))
  const mutants = loadMutants(step)
  console.log(`\n${step.id}: ${mutants.length} typical wrong answers`)
  for (const mutant of mutants) {
    const problem = await checkMutant(step, mutant)
    console.log(`  ${problem ? 'BAD ' : 'red '} ${mutant.name}`)
    if (problem) problems.push(`${step.id}: ${problem}`)
  }
}

async function main(): Promise<void> {
  const only = process.argv[2] ? findStep(process.argv[2]) : undefined
  if (process.argv[2] && !only) throw new Error(`No step ${process.argv[2]}`)
  await checkGenerated()
  checkTypes()
  const steps = (only ? [only] : listSteps()).filter(
    (step) => exerciseTestFiles(step).length > 0,
  )
  for (const step of steps) {
    checkRed(step)
    checkGreen(step)
    await checkMutants(step)
  }
  if (problems.length > 0) {
    console.error(`\nverify:exercises found ${problems.length} problem(s):`)
    for (const problem of problems) console.error(`- ${problem}`)
    process.exit(1)
  }
  console.log(
    '\nEvery exercise test is red on its skeleton for an assertion reason and green on its solution; the tests load the copy they are given, and every typical wrong answer goes red with its hint.',
  )
}

void main()
