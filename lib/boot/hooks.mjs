// Node's module hooks for TypeScript run directly (`node --import=#boot file.ts`: tests, benchmarks): each .ts module
// compiled by esbuild on its own, cached by path and content, so an edit is in the next run.
import { mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TARGET, cacheDir, esbuild, readOr, sha1, writeWhole } from './compile.mjs'

/** Raise when the compile below changes. */
const FORMAT = 1
const dir = join(cacheDir(resolve(import.meta.dirname, '..', '..')), 'modules')

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !/\.m?ts$/.test(url)) return nextLoad(url, context)
  const path = fileURLToPath(url)
  const source = readFileSync(path, 'utf8')
  const cached = join(dir, `${sha1(`${FORMAT}\0${path}\0${source}`)}.mjs`)
  let code = readOr(cached, undefined)?.toString('utf8')
  if (code === undefined) {
    const r = await (await esbuild()).transform(source, { loader: 'ts', format: 'esm', target: TARGET, sourcefile: path, sourcemap: 'inline', sourcesContent: false }).catch((err) => {
      const e = err.errors?.[0]
      throw new SyntaxError(e ? `${path}:${e.location?.line}:${(e.location?.column ?? 0) + 1}: ${e.text}` : err.message)
    })
    code = r.code
    try {
      mkdirSync(dir, { recursive: true })
      writeWhole(cached, code)
    } catch {} // a cache that cannot be written: compiled again next time
  }
  return { format: 'module', source: code, shortCircuit: true }
}
