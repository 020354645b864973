// What a task costs before it does anything, as CPU time (user + sys of the process tree: steadier than wall time
// on a loaded machine) against a bare zx hello-world measured in the same run (nothing preloaded: .npmrc's
// node-options overridden), all started the way users start them, `npx zx …` from the repository:
//   status --help   flags and help only (goal ≤ 1.2×)
//   status          a real task against the fake docker (which answers at once), all stacks (goal ≤ 1.5×), as a whole
//                   and its own: minus the CPU its fake docker processes report (FAKE_DOCKER_CPU_LOG)
//   doctor          the configuration checks (compose-spec validation included)
// A first run after an edit rebuilds the task's bundle (lib/boot/bundle.mjs); the warm-up runs below take that cost.
// Usage: node --import=#boot bench/startup.bench.ts
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixtureRepo, portsFrom } from '../test/stack-fixtures.ts'
import { table } from '../lib/core/format.ts'
import { treeCpu } from './measure.ts'

const RUNS = 5
const repo = fixtureRepo({ ports: portsFrom(28160) })
writeFileSync(join(repo.root, 'hello.mjs'), "console.log('hello')\n")
const env: Record<string, string | undefined> = {
  ...process.env,
  PATH: `${join(repo.root, 'test', 'fake-docker')}:${process.env.PATH}`,
  FAKE_DOCKER_STATE: join(repo.root, '.test-docker', 'state.json'),
  NO_COLOR: '1',
  CI: '1',
}
delete env.NODE_OPTIONS

const cpuLog = join(repo.root, '.test-docker', 'docker-cpu.log')

/** CPU seconds (user + sys) of a bash command and every process it started (bash's `times` for its children), and
 *  the part of it that the fake docker's processes took (they report their own). */
function cpu(command: string, bare = false): { secs: number; fake: number; dockerCalls: number } {
  rmSync(cpuLog, { force: true })
  const { user, sys } = treeCpu(command, { cwd: repo.root, env: { ...env, FAKE_DOCKER_CPU_LOG: cpuLog, ...(bare ? { npm_config_node_options: '--no-deprecation' } : {}) } })
  const fake = existsSync(cpuLog) ? readFileSync(cpuLog, 'utf8').split('\n').filter(Boolean).map(Number) : []
  return { secs: user + sys, fake: fake.reduce((a, b) => a + b, 0), dockerCalls: fake.length }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** medians of the whole and of the whole minus the fake docker (a node process per call, where the real docker CLI
 *  is a Go binary costing a fraction of it) */
const measure = (command: string, bare = false) => {
  const runs = Array.from({ length: RUNS }, () => cpu(command, bare))
  return { secs: median(runs.map((r) => r.secs)), own: median(runs.map((r) => r.secs - r.fake)), dockerCalls: runs[0].dockerCalls }
}

try {
  // warm the file cache, npm's, and build the bundles
  for (const t of ['status', 'doctor']) cpu(`npx zx tasks/${t}.ts`)
  const hello = measure('npx zx hello.mjs', true).secs
  const rows = [['what', `cpu s (median of ${RUNS})`, 'ratio to zx hello', 'goal']]
  rows.push(['npx zx hello.mjs (baseline: nothing preloaded)', hello.toFixed(2), '1.00', ''])
  const row = (label: string, secs: number, goal = '') => rows.push([label, secs.toFixed(2), (secs / hello).toFixed(2), goal])
  row('status --help', measure('npx zx tasks/status.ts --help').secs, '≤ 1.2')
  const status = measure('npx zx tasks/status.ts')
  row(`status, with its ${status.dockerCalls} fake docker processes`, status.secs)
  row('status, its own (the fake docker processes not counted)', status.own, '≤ 1.5')
  row('doctor', measure('npx zx tasks/doctor.ts').own)
  console.log(table(rows))
} finally {
  repo.cleanup()
}
