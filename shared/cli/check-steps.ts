// Part of npm run lint: the rules that keep adjacent steps diffable.
//   - a file that step N+1 carries over from step N's src/ is byte-identical,
//     unless step N+1's README names it under "What changed";
//   - the generated copies of each exercise match their master;
//   - every test name of a step appears in its README (its requirements).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { staleFiles } from '../exercises'
import { listSteps, type Step } from '../steps'

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

async function main(): Promise<void> {
  const steps = listSteps()
  const problems = [
    ...steps.slice(1).flatMap((step, i) => changedUnlisted(steps[i]!, step)),
    ...steps.flatMap(unlistedRequirements),
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
