// What a task costs before it does anything, as CPU time (user + sys of the process tree: steadier than wall time
// on a loaded machine) against a bare zx hello-world measured in the same run (nothing preloaded: .npmrc's
// node-options overridden), all started the way users start them, `npx zx …` from the repository:
//   status --help   flags and help only (goal ≤ 1.2×)
//   status          a real task against the fake docker (which answers at once), all stacks (goal ≤ 1.5×)
//   doctor          the configuration checks (compose-spec validation included)
// A first run after an edit rebuilds the task's bundle (lib/boot/bundle.mjs); the warm-up runs below take that cost.
// Usage: node --import tsx bench/startup.bench.ts
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fixtureRepo, portsFrom } from '../test/stack-fixtures.ts'
import { table } from '../lib/core/format.ts'

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

/** CPU seconds (user + sys) of `npx zx <args>` and every process it started: bash's `times` for its children. */
function cpu(args: string[], bare = false): number {
  const r = spawnSync('bash', ['-c', 'npx zx "$@" >/dev/null 2>&1; times', 'bash', ...args], { cwd: repo.root, env: bare ? { ...env, npm_config_node_options: '--no-deprecation' } : env, encoding: 'utf8' })
  const children = r.stdout.trim().split('\n').pop() ?? ''
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  if (secs.length !== 2) throw new Error(`npx zx ${args.join(' ')}: no timing: ${r.stdout.slice(-200)} ${r.stderr.slice(-200)}`)
  return secs[0] + secs[1]
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const measure = (args: string[], bare = false) => median(Array.from({ length: RUNS }, () => cpu(args, bare)))

try {
  cpu(['hello.mjs'], true) // warm the file cache and build the bundles
  cpu(['tasks/status.ts'])
  cpu(['tasks/doctor.ts'])
  const hello = measure(['hello.mjs'], true)
  const rows = [['what', 'cpu s (median of ' + RUNS + ')', 'ratio to zx hello', 'goal']]
  rows.push(['npx zx hello.mjs (baseline, bare)', hello.toFixed(2), '1.00', ''])
  for (const [label, args, goal] of [['status --help', ['tasks/status.ts', '--help'], '≤ 1.2'], ['status (fake docker)', ['tasks/status.ts'], '≤ 1.5'], ['doctor', ['tasks/doctor.ts'], '']] as const) {
    const t = measure([...args])
    rows.push([label, t.toFixed(2), (t / hello).toFixed(2), goal])
  }
  console.log(table(rows))
} finally {
  repo.cleanup()
}
