// Loading the stack registry (parse + zod validation of x- metadata + variable scan) for the shipped
// compose files, beside a baseline that only parses the same YAML files with the yaml package.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadRegistry } from '../lib/model/registry.ts'
import { repoRoot } from '../lib/core/paths.ts'
import { table } from '../lib/core/format.ts'
import { median } from './measure.ts'

const files: string[] = []
for (const folder of readdirSync(join(repoRoot, 'compose')))
  for (const f of readdirSync(join(repoRoot, 'compose', folder))) if (f.endsWith('.yml')) files.push(join(repoRoot, 'compose', folder, f))

const ours = median(() => loadRegistry(repoRoot), 200)
const baseline = median(() => files.forEach((f) => parse(readFileSync(f, 'utf8'))), 200)
const r = loadRegistry(repoRoot)
console.log(`${r.stacks.length} stacks, ${r.services.length} services, ${r.routes.length} routes, ${r.secrets.size} secrets, ${files.length} files`)
console.log(
  table([
    ['case', 'median', 'ratio'],
    ['yaml.parse only (baseline)', `${baseline.toFixed(2)} ms`, '1.00'],
    ['loadRegistry (parse + validate + scan)', `${ours.toFixed(2)} ms`, (ours / baseline).toFixed(2)],
  ]),
)
