// `up` of every stack against the fake docker (whose commands do no work), i.e. Stackyard's own overhead: wall time
// and docker invocations for a cold up (nothing running) and a no-op second up. Baselines measured in the same run:
//   floor    = the task's fixed start cost (node + tsx + loading the task: `up.ts --help`) plus, for each docker
//              invocation up made, the fake docker's own cost per call (median of sequential `docker compose version`);
//              a strictly sequential runner could not go below it. Ratio < 1 means concurrency hid some calls.
//   origin   = the origin's sequence: task start + one `docker compose up -d` per stack, nothing else (no preflight,
//              no waiting for health, no generated files): what Stackyard's checks add on top.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fixtureRepo, portsFrom, composeSub } from '../test/stack-fixtures.ts'
import { table } from '../lib/format.ts'

const RUNS = 3
const repo = fixtureRepo({ ports: portsFrom(28120) })
const env: Record<string, string | undefined> = {
  ...process.env,
  PATH: `${join(repo.root, 'test', 'fake-docker')}:${process.env.PATH}`,
  FAKE_DOCKER_LOG: join(repo.root, '.test-docker', 'calls.jsonl'),
  FAKE_DOCKER_STATE: join(repo.root, '.test-docker', 'state.json'),
  NO_COLOR: '1',
  CI: '1',
}
delete env.NODE_OPTIONS

function timed(cmd: string, args: string[]): number {
  const t = performance.now()
  const r = spawnSync(cmd, args, { cwd: repo.root, env, encoding: 'utf8' })
  const ms = performance.now() - t
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`)
  return ms
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const task = (name: string, args: string[] = []) => timed(process.execPath, ['--import', 'tsx', join(repo.root, 'tasks', name), ...args])

try {
  const perCall = median(Array.from({ length: 15 }, () => timed(join(repo.root, 'test', 'fake-docker', 'docker'), ['compose', 'version', '--short'])))
  const start = median(Array.from({ length: RUNS }, () => task('up.ts', ['--help'])))

  const cold: number[] = []
  const warm: number[] = []
  let coldCalls = 0
  let warmCalls = 0
  let stacks = 0
  for (let i = 0; i < RUNS; i++) {
    repo.resetDocker()
    spawnSync('rm', ['-rf', join(repo.root, '.stackyard'), join(repo.root, 'caddy', 'Caddyfile')])
    cold.push(task('up.ts'))
    coldCalls = repo.dockerCalls().length
    stacks = repo.dockerCalls().filter((c) => composeSub(c) === 'up').length
    spawnSync('rm', ['-f', join(repo.root, '.test-docker', 'calls.jsonl')])
    warm.push(task('up.ts'))
    warmCalls = repo.dockerCalls().length
  }
  const coldMs = median(cold)
  const warmMs = median(warm)
  const floor = (calls: number) => start + calls * perCall
  const origin = start + stacks * perCall
  console.log(`${stacks} stacks; fake docker ${perCall.toFixed(0)} ms per call; task start ${start.toFixed(0)} ms; median of ${RUNS} runs`)
  console.log(
    table([
      ['case', 'wall', 'docker calls', 'floor', 'ratio to floor', 'ratio to origin-style'],
      ['up, nothing running', `${coldMs.toFixed(0)} ms`, String(coldCalls), `${floor(coldCalls).toFixed(0)} ms`, (coldMs / floor(coldCalls)).toFixed(2), (coldMs / origin).toFixed(2)],
      ['up again (no-op)', `${warmMs.toFixed(0)} ms`, String(warmCalls), `${floor(warmCalls).toFixed(0)} ms`, (warmMs / floor(warmCalls)).toFixed(2), (warmMs / origin).toFixed(2)],
      ['origin-style (baseline)', `${origin.toFixed(0)} ms`, String(stacks), '', '', '1.00'],
    ]),
  )
} finally {
  repo.cleanup()
}
