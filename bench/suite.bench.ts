// The suite's cost (`npm test` without the real tier), wall and CPU (user + sys of every process it started), against
// the goals of the layout-and-speed work: at most 3 minutes wall on 2 idle cores, at most 40% of the 802 s of CPU
// the same suite took when that work was filed (about 9 minutes wall then; a figure from then, not from this run:
// the old suite cannot run here). Takes as long as the suite. Usage: node --import=#boot bench/suite.bench.ts
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { table } from '../lib/core/format.ts'
import { treeCpu } from './measure.ts'

const BEFORE_CPU = 802
const root = join(import.meta.dirname, '..')
const env: NodeJS.ProcessEnv = { ...process.env, STACKYARD_TIERS: 'suite' }
delete env.NODE_OPTIONS
const started = performance.now()
const r = treeCpu('node --import=#boot test/run.ts', { cwd: root, env })
const wall = (performance.now() - started) / 1000
const { user, sys } = r
const cpu = user + sys
console.log(table([
  ['what', 'measured', 'goal', 'ratio to the goal'],
  ['wall s', wall.toFixed(0), '≤ 180', (wall / 180).toFixed(2)],
  ['cpu s (user + sys)', `${cpu.toFixed(0)} (${user.toFixed(0)} + ${sys.toFixed(0)})`, `≤ ${(BEFORE_CPU * 0.4).toFixed(0)}`, (cpu / (BEFORE_CPU * 0.4)).toFixed(2)],
  ['cpu, ratio to the 802 s before', (cpu / BEFORE_CPU).toFixed(2), '≤ 0.40', ''],
]))
console.log(`${availableParallelism()} cores; the suite ${r.status === 0 ? 'passed' : `FAILED (exit ${r.status}): run npm test to see why`}`)
process.exit(r.status ?? 1)
