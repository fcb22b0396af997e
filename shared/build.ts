// Node processes start from compiled JavaScript: a step's TypeScript is
// bundled once with esbuild into .run/build/, and rebuilt only when a source
// file changed (the cache is keyed by the content of every input). Why: a
// node started through tsx pays about half a second and 40 MB to compile on
// the fly, and later steps run twenty nodes. Source maps keep stack traces
// pointing at the .ts files.
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { ROOT } from './steps'

interface Manifest {
  /** Every source file in the bundle, with the hash of its content. */
  inputs: Record<string, string>
  output: string
}

const hash = (text: string | Buffer) =>
  createHash('sha256').update(text).digest('hex').slice(0, 16)

// A bundle puts every module in one file: give each module its own
// __dirname and __filename back (the app finds its public/ folder by them).
const keepDirname: Plugin = {
  name: 'keep-dirname',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, (args) => ({
      loader: 'ts',
      // On the first line, so that every line keeps its number.
      contents:
        `const __dirname = ${JSON.stringify(dirname(args.path))}, ` +
        `__filename = ${JSON.stringify(args.path)}; ` +
        readFileSync(args.path, 'utf8'),
    }))
  },
}

function upToDate(manifest: Manifest): boolean {
  return Object.entries(manifest.inputs).every(([file, digest]) => {
    const path = join(ROOT, file)
    return existsSync(path) && hash(readFileSync(path)) === digest
  })
}

/** The compiled entry for `entry` (a step's src/main.ts), built if needed. */
export async function compiled(entry: string): Promise<string> {
  // Inside the repository whatever RUN_DIR says: the bundle finds its
  // packages in node_modules/ from where it lies.
  const dir = join(ROOT, '.run', 'build', hash(relative(ROOT, entry)))
  const manifestFile = join(dir, 'manifest.json')
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest
    if (upToDate(manifest) && existsSync(join(dir, manifest.output)))
      return join(dir, manifest.output)
  }
  mkdirSync(dir, { recursive: true })
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    write: false,
    // Where it would go: source map paths are relative to it.
    outfile: join(dir, 'main.js'),
    metafile: true,
    plugins: [keepDirname],
    logLevel: 'silent',
    absWorkingDir: ROOT,
  })
  const code = result.outputFiles[0]!.contents
  const output = `main.${hash(Buffer.from(code))}.js`
  const inputs = Object.fromEntries(
    Object.keys(result.metafile.inputs).map((file) => [
      file,
      hash(readFileSync(join(ROOT, file))),
    ]),
  )
  // Written under another name first: a second npm start at the same moment
  // never reads half a file.
  const temp = join(dir, `${output}.${process.pid}`)
  writeFileSync(temp, code)
  renameSync(temp, join(dir, output))
  writeFileSync(
    `${manifestFile}.${process.pid}`,
    JSON.stringify({ inputs, output }, null, 2),
  )
  renameSync(`${manifestFile}.${process.pid}`, manifestFile)
  // Older builds of this entry are of no more use (a running node has
  // loaded its file already).
  for (const old of readdirSync(dir))
    if (/^main\.\w+\.js$/.test(old) && old !== output)
      rmSync(join(dir, old), { force: true })
  return join(dir, output)
}
