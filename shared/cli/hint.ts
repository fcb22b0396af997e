// npm run hint -- step03            the next level of the hint for the first
//                                   red exercise test
// npm run hint -- step03 --hint 2   the next level of Hint 2, whatever is red
// npm run hint -- step03 --reset    start every hint of the step from level 1
// Levels go from a nudge to the exact code; each call shows one more.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import {
  firstRed,
  forgetLevels,
  levelsSeen,
  parseHints,
  rememberLevel,
  resultsFile,
  type TestResults,
} from '../hints'
import { ROOT, findStep, hintsFile, shortName, type Step } from '../steps'
import './pipe'

function fail(message: string): never {
  console.error(message)
  process.exit(2)
}

// The last `npm test -- stepNN` run, unless the learner edited since.
function results(step: Step): TestResults {
  const file = resultsFile(step)
  const exercises = join(ROOT, 'exercises', step.id)
  const edited = Math.max(
    ...readdirSync(exercises).map(
      (name) => statSync(join(exercises, name)).mtimeMs,
    ),
  )
  if (!existsSync(file) || statSync(file).mtimeMs < edited) {
    console.log(`Running the exercise tests of ${shortName(step)}...`)
    spawnSync(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'test.ts'), shortName(step)],
      { cwd: ROOT, stdio: 'ignore' },
    )
  }
  if (!existsSync(file)) fail('The exercise tests did not run; try npm test.')
  return JSON.parse(readFileSync(file, 'utf8')) as TestResults
}

function main() {
  const args = process.argv.slice(2)
  const step = findStep(args[0] ?? '')
  if (!step) fail('Name a step: npm run hint -- step03')
  if (!existsSync(hintsFile(step)))
    fail(`${shortName(step)} has no hints yet (${hintsFile(step)}).`)
  const hints = parseHints(readFileSync(hintsFile(step), 'utf8'))
  const name = shortName(step)
  if (args.includes('--reset')) {
    forgetLevels(step)
    return console.log(`Every hint of ${name} starts again from level 1.`)
  }

  let title: string | undefined
  const asked = args.indexOf('--hint')
  if (asked >= 0) {
    title = hints.find((hint) =>
      hint.title.startsWith(`Hint ${args[asked + 1]}:`),
    )?.title
    if (!title) fail(`${name} has: ${hints.map((h) => h.title).join('; ')}`)
  } else {
    const red = firstRed(results(step))
    if (red.kind === 'green')
      return console.log(
        `Every exercise test of ${name} passes: nothing to hint. The reference is in solutions/${step.id}/.`,
      )
    if (red.kind === 'broken')
      fail(`The exercise tests of ${name} do not run at all:\n${red.message}`)
    console.log(`First red test: ${red.test}`)
    title = red.hint ?? hints[0]?.title
  }
  const hint = hints.find((h) => h.title === title)
  if (!hint) fail(`No "${title}" in ${hintsFile(step)}.`)

  const seen = Math.min(levelsSeen(step, hint.title) + 1, hint.levels.length)
  const level = hint.levels[seen - 1]!
  rememberLevel(step, hint.title, seen)
  console.log(
    `\n${hint.title}, level ${seen} of ${hint.levels.length}: ${level.name}\n`,
  )
  console.log(level.text)
  const next = hint.levels[seen]
  console.log(
    next
      ? `\nRun the same command again for "${next.name}".`
      : '\nThat was the last level of this hint.',
  )
}

main()
