// Progressive hints, offline: each exercise's hints live in
// steps/<step>/exercise/hints.md, one "## Hint N: title" per part of the
// task, each with levels ("### Nudge", "### Concept", "### The code").
// `npm run hint` shows one level at a time and remembers how far each
// learner got, in .run/ (git-ignored).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runDir, shortName, type Step } from './steps'

export interface Hint {
  title: string
  levels: { name: string; text: string }[]
}

export function parseHints(markdown: string): Hint[] {
  const hints: Hint[] = []
  for (const line of markdown.split('\n')) {
    const hint = /^## (Hint \d+: .+?)\s*$/.exec(line)
    const level = /^### (.+?)\s*$/.exec(line)
    const current = hints.at(-1)
    if (hint) hints.push({ title: hint[1]!, levels: [] })
    else if (level && current)
      current.levels.push({ name: level[1]!, text: '' })
    else if (current?.levels.length) current.levels.at(-1)!.text += `${line}\n`
  }
  for (const hint of hints)
    for (const level of hint.levels) level.text = level.text.trim()
  return hints
}

/** The hint a failure message names ("... for "Hint 2: ..."."). */
export function hintNamed(message: string): string | undefined {
  return /for "(Hint \d+: [^"]+)"/.exec(message)?.[1]
}

export interface TestResults {
  at: number
  suites: {
    file: string
    failure?: string
    tests: { name: string; status: string; message: string }[]
  }[]
}

export type FirstRed =
  | { kind: 'green' }
  | { kind: 'broken'; message: string }
  | { kind: 'red'; test: string; hint: string | undefined }

// Tests run in file order, and a step's hints follow its tests: the first
// red test is where the learner is.
export function firstRed(results: TestResults): FirstRed {
  for (const suite of results.suites) {
    if (suite.failure) return { kind: 'broken', message: suite.failure }
    const red = suite.tests.find((test) => test.status === 'failed')
    if (red)
      return { kind: 'red', test: red.name, hint: hintNamed(red.message) }
  }
  return { kind: 'green' }
}

export const resultsFile = (step: Step) =>
  join(runDir(), 'tests', `${shortName(step)}.json`)

type Progress = Record<string, Record<string, number>>
const progressFile = () => join(runDir(), 'hints.json')

function readProgress(): Progress {
  const file = progressFile()
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Progress)
    : {}
}

/** How many levels of this hint the learner has seen. */
export function levelsSeen(step: Step, title: string): number {
  return readProgress()[shortName(step)]?.[title] ?? 0
}

export function rememberLevel(step: Step, title: string, seen: number) {
  const progress = readProgress()
  progress[shortName(step)] = { ...progress[shortName(step)], [title]: seen }
  mkdirSync(runDir(), { recursive: true })
  writeFileSync(progressFile(), JSON.stringify(progress, null, 2) + '\n')
}

export function forgetLevels(step: Step) {
  const progress = readProgress()
  delete progress[shortName(step)]
  mkdirSync(runDir(), { recursive: true })
  writeFileSync(progressFile(), JSON.stringify(progress, null, 2) + '\n')
}
