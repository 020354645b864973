// Runs every bench/*.bench.ts in turn (each prints its own table with ratios against a baseline
// measured in the same run). Usage: npm run bench [-- filter]
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const dir = import.meta.dirname
const filter = process.argv[2]
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort()
const env = { ...process.env }
delete env.NODE_OPTIONS
let failed = 0
for (const f of files) {
  process.stdout.write(`\n## ${f}\n`)
  const r = spawnSync(process.execPath, ['--import=#boot', join(dir, f)], { stdio: 'inherit', env })
  if (r.status !== 0) failed++
}
process.exit(failed ? 1 : 0)
