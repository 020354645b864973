// Test collector: node:test on Node 20 does not expand globs and runs 0 .ts tests when given none,
// so list every *.test.ts under lib/ and test/ explicitly and fail when there are none.
// Usage: node --import tsx test/run.ts [substring filter...]
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = join(import.meta.dirname, '..')
const filters = process.argv.slice(2)

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, path))
  }
  return out
}

const files = ['lib', 'test']
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
if (files.length === 0) {
  console.error('test/run.ts: no test files found' + (filters.length ? ` matching ${filters.join(', ')}` : ''))
  process.exit(1)
}
console.error(`running ${files.length} test file(s)`)
const env = { ...process.env }
delete env.NODE_OPTIONS
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=4', ...files], {
  cwd: root,
  stdio: 'inherit',
  env,
})
process.exit(r.status ?? 1)
