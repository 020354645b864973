// What the two ways of running TypeScript share (bundle.mjs for tasks, hooks.mjs for tests): esbuild, loaded only
// when something must be compiled; the cache folder; content hashes; whole-file writes.
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** esbuild's output for the Node.js this project requires (package.json engines) */
export const TARGET = 'node20'

export const esbuild = () => import('esbuild')

/** the compiled files of the repository (or copy) at `root`; a copy's node_modules is often the same folder */
export const cacheDir = (root) => join(root, 'node_modules', '.cache', 'stackyard')

export const sha1 = (bytes) => createHash('sha1').update(bytes).digest('hex')

export function readOr(path, fallback) {
  try {
    return readFileSync(path)
  } catch {
    return fallback
  }
}

/** written to a temporary file first, then renamed: a reader sees the old file or the new one, never a part */
export function writeWhole(path, text) {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}
