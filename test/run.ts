// Test collector: node:test on Node 20 does not expand globs and runs 0 .ts tests when given none, so list every
// *.test.ts under lib/ and test/ explicitly and fail when there are none. Two tiers, one after the other: the suite
// (fakes, real caddy and PostgreSQL binaries; 4 files at once, lib/'s unit tests together in one), then the real tier (test/real/: the Docker engine and
// the stand-in images; one file at a time). For the real tier it starts dockerd when none answers and stops it after
// (by PID), and builds the stand-in images when missing; without an engine it says so and skips, except under CI.
// Usage: node --import=#boot test/run.ts [substring filter...]   (STACKYARD_TIERS=suite|real to run one tier)
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { ciRequiresEngine, composeVersion, startEngineIfNeeded, type StartedEngine } from './real/engine.ts'

const root = join(import.meta.dirname, '..')
const filters = process.argv.slice(2)
const tiers = (process.env.STACKYARD_TIERS ?? 'suite,real').split(',')

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, path))
  }
  return out
}

const all = ['lib', 'test']
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
const isReal = (f: string) => f.startsWith('test/real/')
const suite = tiers.includes('suite') ? all.filter((f) => !isReal(f)) : []
const real = tiers.includes('real') ? all.filter(isReal) : []
if (suite.length + real.length === 0) {
  console.error('test/run.ts: no test files found' + (filters.length ? ` matching ${filters.join(', ')}` : ''))
  process.exit(1)
}
const env: NodeJS.ProcessEnv = { ...process.env }
delete env.NODE_OPTIONS
const nodeTest = (files: string[], concurrency: number, extra: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import=#boot', '--test', `--test-concurrency=${concurrency}`, ...files], { cwd: root, stdio: 'inherit', env: { ...env, ...extra } }).status ?? 1

let status = 0
if (suite.length) {
  console.error(`running ${suite.length} test file(s)`)
  const t0 = Date.now()
  // lib/'s unit tests run in one process (test/unit-tests.ts), each end-to-end file in its own
  const units = suite.filter((f) => f.startsWith('lib/'))
  const files = [...suite.filter((f) => !f.startsWith('lib/')), ...(units.length ? ['test/unit-tests.ts'] : [])]
  status = nodeTest(files, 4, { STACKYARD_UNIT_FILES: JSON.stringify(units) })
  console.error(`suite: ${suite.length} file(s) in ${Math.round((Date.now() - t0) / 1000)}s`)
}

if (real.length) {
  let engine: StartedEngine | undefined
  let prepared = true
  const t0 = Date.now()
  try {
    engine = await startEngineIfNeeded()
    if (engine) console.error(`real tier: started dockerd (pid ${engine.pid}, log ${engine.log})`)
    if (!composeVersion()) throw new Error('Docker Compose v2 is not installed (test/deps.sh installs it)')
    const b = spawnSync(process.execPath, ['--import=#boot', 'test/standins/build.ts'], { cwd: root, stdio: 'inherit', env })
    if (b.status !== 0) throw new Error('the stand-in images could not be built (see above)')
  } catch (err) {
    prepared = false
    const msg = `real tier: ${(err as Error).message}`
    if (ciRequiresEngine()) { console.error(`${msg}; under CI the real tier must run`); status = 1 }
    else console.error(`${msg}: its tests skip`)
  }
  try {
    // the test files themselves skip in one line when the engine is missing (and fail under CI)
    console.error(`running ${real.length} real-tier file(s), one at a time`)
    const r = nodeTest(real, 1)
    if (prepared || ciRequiresEngine()) status ||= r
    console.error(`real tier: ${real.length} file(s) in ${Math.round((Date.now() - t0) / 1000)}s`)
  } finally {
    if (engine) {
      await engine.stop()
      console.error(`real tier: stopped dockerd (pid ${engine.pid})`)
    }
  }
}
process.exit(status)
