// How TypeScript runs on Node 20, which cannot run it by itself: `--import=#boot` (.npmrc adds it for npx and npm).
// When zx is about to run a .ts script of this repository (`npx zx tasks/<task>.ts`), zx gets the script's cached
// bundle instead (bundle.mjs), which puts the script's own path back into process.argv before any of its code runs.
// When node itself runs a .ts file (tests, benchmarks), module hooks compile each .ts module (hooks.mjs). Else nothing.
import { existsSync, realpathSync } from 'node:fs'
import { register } from 'node:module'
import { resolve, sep } from 'node:path'
import { BOOT, CacheUnwritable, freshBundle } from './bundle.mjs'

/** zx's options that take a value as the next argument (`zx --help`); the script is its first other argument. */
const VALUED = new Set(['--shell', '--prefix', '--postfix', '--cwd', '--env', '--env-file', '--ext', '--registry'])

const root = realpathSync(resolve(import.meta.dirname, '..', '..'))

function zxScript(argv) {
  let cli
  try {
    cli = realpathSync(argv[1] ?? '')
  } catch {
    return undefined
  }
  if (!cli.endsWith(`${sep}zx${sep}build${sep}cli.js`)) return undefined
  for (let i = 2; i < argv.length; i++) {
    if (VALUED.has(argv[i])) i++
    else if (!argv[i].startsWith('-')) return i
  }
  return undefined
}

const index = zxScript(process.argv)
const script = index === undefined ? undefined : process.argv[index]
const entry = script !== undefined && /\.[cm]?ts$/.test(script) && existsSync(script) ? realpathSync(script) : undefined
if (entry?.startsWith(root + sep)) {
  if (process.argv.includes('--verbose') || process.argv.includes('-v')) process.setSourceMapsEnabled(true) // stack traces are shown only then
  try {
    const bundle = await freshBundle(root, entry)
    globalThis[BOOT] = { index, script, root }
    process.argv[index] = bundle
  } catch (err) {
    // node_modules/.cache cannot be written (installed by another user, a read-only tree): compile module by module
    if (err instanceof CacheUnwritable) useHooks()
    else {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
  }
} else if (/\.m?ts$/.test(process.argv[1] ?? '')) useHooks()

function useHooks() {
  process.setSourceMapsEnabled(true)
  register('./hooks.mjs', import.meta.url)
}
