// npm run exercises:generate: writes the src/, exercises/ and solutions/
// copies of every exercise from its master in steps/<step>/exercise/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { ROOT } from '../steps'
import { generatedFiles, staleFiles } from '../exercises'

async function main() {
  const files = await generatedFiles()
  const stale = new Set(await staleFiles(files))
  for (const file of files) {
    if (!stale.has(relative(ROOT, file.path))) continue
    mkdirSync(dirname(file.path), { recursive: true })
    writeFileSync(file.path, file.content)
    console.log(`wrote ${relative(ROOT, file.path)}`)
  }
  if (stale.size === 0) console.log('Every generated exercise file is current.')
}

void main()
