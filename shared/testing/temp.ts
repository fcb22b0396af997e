// A fresh data folder per test file, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'workshop-'))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}
