// One source of truth for each step's exercise. The file a learner writes
// exists three times: in the step's src/ (the running reference), in
// exercises/ (the skeleton with gaps) and in solutions/. All three are
// generated from one marked-up master, steps/<step>/exercise/<file>.ts:
//
//   // @solution      lines that only the reference and the solution get
//   // @skeleton      lines that only the learner's skeleton gets
//   // @end           back to lines that every copy gets
//
// In the exercises/ and solutions/ copies, relative imports are rewritten to
// point at the step's src/, so the copies compile where they stand.
import { existsSync, readFileSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { format, resolveConfig } from 'prettier'
import { ROOT, listSteps, masterFiles, type Step } from './steps'

export interface GeneratedFile {
  path: string
  content: string
}

type Variant = 'solution' | 'skeleton'

export function render(
  master: string,
  variant: Variant,
  where: string,
): string {
  const out: string[] = []
  let section: Variant | 'all' = 'all'
  master.split('\n').forEach((line, index) => {
    const marker = /^\s*\/\/ @(solution|skeleton|end)\s*$/.exec(line)
    if (marker) {
      const next = marker[1] === 'end' ? 'all' : (marker[1] as Variant)
      if (next === section) {
        throw new Error(`${where}:${index + 1}: unbalanced "// @${marker[1]}"`)
      }
      section = next
    } else if (section === 'all' || section === variant) {
      out.push(line)
    }
  })
  if (section !== 'all') throw new Error(`${where}: missing "// @end"`)
  return out.join('\n')
}

function rewriteImports(source: string, step: Step): string {
  const target = `../../steps/${step.id}/src/`
  return source
    .replace(/(from\s+')\.\/([^']+')/g, `$1${target}$2`)
    .replace(/(from\s+')\.\.\/\.\.\/\.\.\/shared\//g, '$1../../shared/')
}

// Every generated file, for every step (or the steps given), formatted with
// the repository's Prettier settings so that copies never differ in style.
export async function generatedFiles(
  root = ROOT,
  steps = listSteps(root),
): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = []
  for (const step of steps) {
    for (const masterPath of masterFiles(step)) {
      const where = relative(root, masterPath)
      const master = readFileSync(masterPath, 'utf8')
      const file = basename(masterPath)
      const solution = render(master, 'solution', where)
      const skeleton = render(master, 'skeleton', where)
      const copies = [
        [join(step.dir, 'src', file), solution],
        [
          join(root, 'solutions', step.id, file),
          rewriteImports(solution, step),
        ],
        [
          join(root, 'exercises', step.id, file),
          rewriteImports(skeleton, step),
        ],
      ] as const
      for (const [path, content] of copies) {
        const options = { ...(await resolveConfig(path)), filepath: path }
        files.push({ path, content: await format(content, options) })
      }
    }
  }
  return files
}

export async function staleFiles(files?: GeneratedFile[]): Promise<string[]> {
  return (files ?? (await generatedFiles()))
    .filter(
      (file) =>
        !existsSync(file.path) ||
        readFileSync(file.path, 'utf8') !== file.content,
    )
    .map((file) => relative(ROOT, file.path))
}
