// One source of truth for each step's exercise. The file a learner writes
// exists three times: in the step's src/ (the running reference), in
// exercises/ (the skeleton with gaps) and in solutions/. All three are
// generated from one marked-up master, steps/<step>/exercise/<box>/<file>.ts:
//
//   // @solution      lines that only the reference and the solution get
//   // @skeleton      lines that only the learner's skeleton gets
//   // @end           back to lines that every copy gets
//
// A master's relative imports are written as its src/ copy needs them; each
// other copy gets them rewritten so that it compiles where it stands.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { ROOT, conceptFiles, listSteps, type Step } from './steps'

export interface GeneratedFile {
  path: string
  content: string
}

export type Variant = 'solution' | 'skeleton'

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

/** Rewrites the relative imports of a file written for `from` to work at `to`. */
export function moveImports(source: string, from: string, to: string): string {
  return source.replace(/(from\s+')(\.\.?\/[^']+)'/g, (_, prefix, spec) => {
    const target = resolve(dirname(from), spec)
    const moved = relative(dirname(to), target).split('\\').join('/')
    return `${prefix}${moved.startsWith('.') ? moved : `./${moved}`}'`
  })
}

export async function formatted(path: string, content: string) {
  // On demand: Prettier does not load inside Jest's sandbox, where the
  // tests of shared/ use this module.
  const { format, resolveConfig } = await import('prettier')
  const options = { ...(await resolveConfig(path)), filepath: path }
  return format(content, options)
}

// Every generated file, for every step (or the steps given), formatted with
// the repository's Prettier settings so that copies never differ in style.
export async function generatedFiles(
  root = ROOT,
  steps: Step[] = listSteps(root),
): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = []
  for (const step of steps) {
    for (const concept of conceptFiles(step, root)) {
      const where = relative(root, concept.master)
      const master = readFileSync(concept.master, 'utf8')
      const solution = render(master, 'solution', where)
      const skeleton = render(master, 'skeleton', where)
      const copies = [
        [concept.src, solution],
        [
          concept.solution,
          moveImports(solution, concept.src, concept.solution),
        ],
        [
          concept.exercise,
          moveImports(skeleton, concept.src, concept.exercise),
        ],
      ] as const
      for (const [path, content] of copies) {
        files.push({ path, content: await formatted(path, content) })
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
