// Jest resolver for exercise tests: wherever a step's concept file
// (steps/<step>/src/<file>.ts with a master in steps/<step>/exercise/) would
// be loaded, load exercises/<step>/<file>.ts or solutions/<step>/<file>.ts
// instead, so the learner's code runs inside the real stage.
const { existsSync } = require('node:fs')
const { join, sep } = require('node:path')

const root = join(__dirname, '..', '..')
const concept = new RegExp(
  `${escape(join(root, 'steps'))}\\${sep}(step\\d\\d-[^\\${sep}]+)\\${sep}src\\${sep}([^\\${sep}]+\\.ts)$`,
)

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

module.exports = (request, options) => {
  const resolved = options.defaultResolver(request, options)
  const match = concept.exec(resolved)
  if (!match) return resolved
  const [, step, file] = match
  if (!existsSync(join(root, 'steps', step, 'exercise', file))) return resolved
  const folder = process.env.WORKSHOP_EXERCISES || 'solutions'
  return join(root, folder, step, file)
}
