// Jest resolver for exercise tests: wherever a step's concept file
// (steps/<step>/src/<box>/<file>.ts, with a master in steps/<step>/exercise/)
// would be loaded, load the learner's copy in exercises/<step>/<file>.ts, the
// reference in solutions/<step>/, or (for verify:exercises) a mutant, so the
// learner's code runs inside the real stage. WORKSHOP_EXERCISES names the
// folder. With WORKSHOP_RESOLVE_LOG set, every swap is written to that file:
// the proof that the tests loaded the copy they were meant to.
const { appendFileSync, existsSync } = require('node:fs')
const { basename, isAbsolute, join, relative, sep } = require('node:path')

const root = join(__dirname, '..', '..')
const stepsDir = join(root, 'steps')

module.exports = (request, options) => {
  const resolved = options.defaultResolver(request, options)
  const inner = relative(stepsDir, resolved).split(sep)
  // [<step>, 'src', <box>, <file>.ts]
  if (inner.length !== 4 || inner[1] !== 'src') return resolved
  const [step, , box, file] = inner
  if (!existsSync(join(stepsDir, step, 'exercise', box, file))) return resolved
  const folder = process.env.WORKSHOP_EXERCISES || 'solutions'
  const base = isAbsolute(folder) ? folder : join(root, folder)
  const swapped = join(base, step, basename(file))
  const log = process.env.WORKSHOP_RESOLVE_LOG
  if (log) appendFileSync(log, `${resolved}\t${swapped}\n`)
  return swapped
}
