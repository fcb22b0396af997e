// Part of npm run lint: the rules that keep adjacent steps diffable.
//   - a file that step N+1 carries over from step N's src/ is byte-identical,
//     unless step N+1's README names it under "What changed";
//   - the generated copies of each exercise match their master.
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

async function main(): Promise<void> {
  const steps = listSteps()
  const problems = steps
    .slice(1)
    .flatMap((step, i) => changedUnlisted(steps[i]!, step))
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
