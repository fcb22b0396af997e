// npm run verify:exercises: the proof that every exercise is a fair test.
//   1. the src/, exercises/ and solutions/ copies match their masters;
//   2. the skeletons type-check (a learner's first run must not be a type error);
//   3. every exercise test FAILS on the pristine skeleton, for an assertion or
//      a reached gap (todo()), never an import error, crash or timeout;
//   4. every exercise test PASSES on the solution.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { staleFiles } from '../exercises'
import { ROOT, exerciseTestFiles, listSteps } from '../steps'

interface AssertionResult {
  fullName: string
  status: string
  failureMessages: string[]
  failureDetails: { matcherResult?: unknown; name?: string }[]
}
interface FileResult {
  name: string
  message: string
  assertionResults: AssertionResult[]
}

const problems: string[] = []

function runJest(
  target: 'exercises' | 'solutions',
  files: string[],
): FileResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'verify-'))
  const output = join(dir, 'results.json')
  spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--selectProjects',
      'exercise',
      '--json',
      `--outputFile=${output}`,
      ...files,
    ],
    {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, WORKSHOP_EXERCISES: target },
    },
  )
  try {
    return (
      JSON.parse(readFileSync(output, 'utf8')) as { testResults: FileResult[] }
    ).testResults
  } catch {
    problems.push(`Jest produced no results for the ${target} run.`)
    return []
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// Why did a test fail on the skeleton? Only two reasons prove the test fair.
export function failureReason(test: AssertionResult): {
  ok: boolean
  reason: string
} {
  const message = test.failureMessages.join('\n')
  const detail = test.failureDetails[0] ?? {}
  if (/Exceeded timeout/.test(message)) return { ok: false, reason: 'timeout' }
  if (detail.matcherResult) return { ok: true, reason: 'assertion' }
  if (
    detail.name === 'NotImplementedError' ||
    /Not implemented yet/.test(message)
  ) {
    return { ok: true, reason: 'gap reached (todo)' }
  }
  const first = message.split('\n')[0] ?? ''
  return { ok: false, reason: `unexpected error: ${first}` }
}

function checkGenerated(): Promise<void> {
  return staleFiles().then((stale) => {
    for (const file of stale) {
      problems.push(
        `${file} is not what its master generates: run npm run exercises:generate`,
      )
    }
  })
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

function checkRedGreen(): void {
  const files = listSteps().flatMap(exerciseTestFiles)
  if (files.length === 0) return
  const red = runJest('exercises', files)
  const green = runJest('solutions', files)
  for (const file of red) {
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
      console.log(`  ${ok ? 'red' : 'BAD'}  ${test.fullName} (${reason})`)
      if (!ok)
        problems.push(
          `${where}: "${test.fullName}" fails for the wrong reason: ${reason}`,
        )
    }
  }
  for (const file of green) {
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

async function main(): Promise<void> {
  await checkGenerated()
  checkTypes()
  checkRedGreen()
  if (problems.length > 0) {
    console.error(`\nverify:exercises found ${problems.length} problem(s):`)
    for (const problem of problems) console.error(`- ${problem}`)
    process.exit(1)
  }
  console.log(
    '\nEvery exercise test is red on its skeleton for an assertion reason and green on its solution.',
  )
}

void main()
