// Part of npm run lint: the rules that keep adjacent steps diffable.
//   - a file that step N+1 carries over from step N's src/ is byte-identical,
//     unless step N+1's README names it under "What changed";
//   - the generated copies of each exercise match their master;
//   - every test name of a step appears in its README (its requirements);
//   - a file never changes folder between steps (the folders are the
//     diagram's boxes: a box's code stays where the learner found it);
//   - a lesson's main path (up to "## Going deeper") fits a class slot;
//   - every hint a test or a gap names exists in the step's hints.md, and the
//     exercise README lists every hint title.
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { staleFiles } from '../exercises'
import { parseHints } from '../hints'
import {
  conceptFiles,
  exerciseTestFiles,
  hintsFile,
  listSteps,
  movedFiles,
  type Step,
} from '../steps'

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
}

export function whatChanged(step: Step): string {
  const readme = join(step.dir, 'README.md')
  if (!existsSync(readme)) return ''
  const text = readFileSync(readme, 'utf8')
  return (
    /^##[^\n]*What changed[^\n]*\n([\s\S]*?)(?=^## |(?![\s\S]))/im.exec(
      text,
    )?.[1] ?? ''
  )
}

function changedUnlisted(previous: Step, step: Step): string[] {
  const listed = whatChanged(step)
  return filesUnder(join(previous.dir, 'src'))
    .filter((file) => existsSync(join(step.dir, 'src', file)))
    .filter((file) => {
      const before = readFileSync(join(previous.dir, 'src', file))
      return !before.equals(readFileSync(join(step.dir, 'src', file)))
    })
    .filter((file) => !listed.includes(`src/${file}`))
    .map(
      (file) =>
        `${step.id}/src/${file} differs from ${previous.id}'s but its README does not list it under "What changed"`,
    )
}

function changedFolder(previous: Step, step: Step): string[] {
  return movedFiles(
    filesUnder(join(previous.dir, 'src')),
    filesUnder(join(step.dir, 'src')),
  ).map((move) => `${step.id}/src: ${move} (keep it in its folder)`)
}

// The literal names given to it(); names built from values are skipped.
export function testNames(source: string): string[] {
  const pattern = /\bit\(\s*(['"])((?:\\.|(?!\1)[^\\])*)\1/g
  return [...source.matchAll(pattern)].map((match) =>
    match[2]!.replace(/\\(.)/g, '$1'),
  )
}

function unlistedRequirements(step: Step): string[] {
  const readme = join(step.dir, 'README.md')
  // Markdown may escape _ and * and wrap lines: compare plain words.
  const text = existsSync(readme)
    ? readFileSync(readme, 'utf8')
        .replace(/\\([_*[\]`])/g, '$1')
        .replace(/\s+/g, ' ')
    : ''
  return filesUnder(join(step.dir, 'test'))
    .flatMap((file) =>
      testNames(readFileSync(join(step.dir, 'test', file), 'utf8')),
    )
    .filter((name) => !text.includes(name.replace(/\s+/g, ' ')))
    .map(
      (name) => `${step.id}/README.md does not list the requirement "${name}"`,
    )
}

// About 250 lines: what a class reads in its slot. The rest is optional.
export const MAIN_PATH_LINES = 260

export function mainPathLength(readme: string): number {
  const lines = readme.split('\n')
  const deeper = lines.findIndex((line) => /^## Going deeper/.test(line))
  return deeper < 0 ? lines.length : deeper
}

function longLesson(step: Step): string[] {
  const readme = join(step.dir, 'README.md')
  if (!existsSync(readme)) return []
  const length = mainPathLength(readFileSync(readme, 'utf8'))
  return length > MAIN_PATH_LINES
    ? [
        `${step.id}/README.md: the main path is ${length} lines; move trade-offs and deep dives under "## Going deeper" (at most ${MAIN_PATH_LINES})`,
      ]
    : []
}

function unknownHints(step: Step): string[] {
  const masters = conceptFiles(step)
  if (masters.length === 0) return []
  const file = hintsFile(step)
  if (!existsSync(file))
    return [`${step.id} has an exercise but no ${relative(step.dir, file)}`]
  const titles = parseHints(readFileSync(file, 'utf8')).map(
    (hint) => hint.title,
  )
  const sources = [
    ...masters.map((concept) => readFileSync(concept.master, 'utf8')),
    ...exerciseTestFiles(step).map((test) => readFileSync(test, 'utf8')),
  ]
  const named = new Set(
    sources.flatMap((source) =>
      [...source.matchAll(/'(Hint \d+: [^']+)'/g)].map((m) => m[1]!),
    ),
  )
  const readme = join(step.dir, '..', '..', 'exercises', step.id, 'README.md')
  const listing = existsSync(readme) ? readFileSync(readme, 'utf8') : ''
  return [
    ...[...named]
      .filter((hint) => !titles.includes(hint))
      .map(
        (hint) =>
          `${step.id}: "${hint}" is named in the code or tests but not in hints.md`,
      ),
    ...titles
      .filter((title) => !listing.includes(title))
      .map(
        (title) => `exercises/${step.id}/README.md does not list "${title}"`,
      ),
    ...titles
      .filter((title) => !named.has(title))
      .map((title) => `${step.id}: no test or gap names "${title}"`),
  ]
}

async function main(): Promise<void> {
  const steps = listSteps()
  const problems = [
    ...steps.slice(1).flatMap((step, i) => changedUnlisted(steps[i]!, step)),
    ...steps.slice(1).flatMap((step, i) => changedFolder(steps[i]!, step)),
    ...steps.flatMap(unlistedRequirements),
    ...steps.flatMap(longLesson),
    ...steps.flatMap(unknownHints),
  ]
  for (const file of await staleFiles()) {
    problems.push(`${file} is stale: run npm run exercises:generate`)
  }
  for (const problem of problems) console.error(`- ${problem}`)
  if (problems.length > 0) process.exit(1)
  console.log(
    `Steps checked: ${steps.length}; carried-over files and generated exercise copies are in order.`,
  )
}

void main()
