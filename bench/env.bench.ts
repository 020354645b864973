// The Compose dotenv parser and the layered loader on 10,000 generated keys (.env.global + .env in a temp dir),
// beside the dotenv package's parse() on the same text, measured in the same run (median of several iterations).
// Usage: node --import=#boot bench/env.bench.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dotenv from 'dotenv'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { loadEnvLayers } from '../lib/env/layers.ts'
import { table } from '../lib/core/format.ts'
import { median } from './measure.ts'

const KEYS = 10_000
const GLOBAL_KEYS = 4_000
const ITERATIONS = 15

/** A realistic mix: plain, double- and single-quoted, interpolated, inline comments, comment and blank lines. */
function line(i: number): string {
  const key = `KEY_${i}`
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return `${key}=value-${i}.example.org`
    case 4:
    case 5:
      return `${key}="a quoted value with spaces, \\"quotes\\" and # hashes ${i}"`
    case 6:
      return `${key}='single quoted $NOT_INTERPOLATED ${i}'`
    case 7:
      return `${key}=\${KEY_${i - 7}}/path/${i}`
    case 8:
      return `${key}=https://host-${i}:8443 # inline comment`
    default:
      return `# section ${i}\n\nexport ${key}="\${KEY_${i - 1}:-fallback}-\${UNSET_${i}:-d}"`
  }
}

const all = Array.from({ length: KEYS }, (_, i) => line(i))
const globalText = all.slice(0, GLOBAL_KEYS).join('\n') + '\n'
const localText = all.slice(GLOBAL_KEYS).join('\n') + '\n'
const text = globalText + localText
const root = mkdtempSync(join(tmpdir(), 'stackyard-env-bench-'))
try {
  writeFileSync(join(root, '.env.global'), globalText)
  writeFileSync(join(root, '.env'), localText)

  const counts = {
    ours: Object.keys(parseDotenv(text)).length,
    layers: Object.keys(loadEnvLayers({ root, shell: {} }).values).length,
    dotenv: Object.keys(dotenv.parse(text)).length,
  }
  const baseline = median(() => dotenv.parse(text), ITERATIONS)
  const parse = median(() => parseDotenv(text), ITERATIONS)
  const layers = median(() => loadEnvLayers({ root, shell: {} }), ITERATIONS)
  // the provenance (sources, history, shadowed, files) is built on first use: read it too, for the full cost
  const withProvenance = median(() => loadEnvLayers({ root, shell: {} }).sources, ITERATIONS)

  process.stdout.write(`${KEYS} keys (${GLOBAL_KEYS} in .env.global, ${KEYS - GLOBAL_KEYS} in .env), ${(text.length / 1024).toFixed(0)} KiB, median of ${ITERATIONS}\n`)
  process.stdout.write(
    table([
      ['case', 'keys', 'median', 'ours/dotenv'],
      ['dotenv.parse (baseline, no interpolation)', String(counts.dotenv), `${baseline.toFixed(2)} ms`, '1.00'],
      ['parseDotenv (Compose grammar + interpolation)', String(counts.ours), `${parse.toFixed(2)} ms`, (parse / baseline).toFixed(2)],
      ['loadEnvLayers (read 2 files + merge; goal ≤ 2)', String(counts.layers), `${layers.toFixed(2)} ms`, (layers / baseline).toFixed(2)],
      ['loadEnvLayers, then its provenance read', String(counts.layers), `${withProvenance.toFixed(2)} ms`, (withProvenance / baseline).toFixed(2)],
    ]) + '\n',
  )
} finally {
  rmSync(root, { recursive: true, force: true })
}
