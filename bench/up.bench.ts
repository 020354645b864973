// `up` of every stack against the fake docker (whose commands do no real work), i.e. Stackyard's own overhead: wall
// time and docker invocations for a cold up (nothing running) and a no-op second up. Baselines measured in the same run:
//   floor   = the task's fixed start cost (zx and the task's bundle, as `npx zx` runs it: `up.ts --help`) plus the fake
//             docker's own time for the very invocations up made, replayed one after the other on a fresh state.
//             Ratio 1.00 = up adds nothing beyond starting and the calls themselves; below 1, concurrency hid calls.
//   plain   = a plain script's sequence: task start + one `docker compose up` per stack (the same argv, replayed), nothing
//             else: no preflight, no state reads, no generated files. The ratio is what Stackyard's checks cost.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { join } from 'node:path'
import { fixtureRepo, portsFrom, composeSub } from '../test/stack-fixtures.ts'
import type { DockerCall } from '../test/helpers/repo.ts'
import { taskCommand } from '../test/helpers/task-command.ts'
import { table } from '../lib/core/format.ts'

const RUNS = 3
const repo = fixtureRepo({ ports: portsFrom(28120) })
const fake = join(repo.root, 'test', 'fake-docker', 'docker')
const state = join(repo.root, '.test-docker', 'state.json')
const env: Record<string, string | undefined> = {
  ...process.env,
  PATH: `${join(repo.root, 'test', 'fake-docker')}:${process.env.PATH}`,
  FAKE_DOCKER_LOG: join(repo.root, '.test-docker', 'calls.jsonl'),
  FAKE_DOCKER_STATE: state,
  NO_COLOR: '1',
  CI: '1',
}
delete env.NODE_OPTIONS

function timed(cmd: string, args: string[], o: { cwd?: string; env?: Record<string, string | undefined>; anyExit?: boolean } = {}): number {
  const t = performance.now()
  const r = spawnSync(cmd, args, { cwd: o.cwd ?? repo.root, env: o.env ?? env, encoding: 'utf8' })
  const ms = performance.now() - t
  if (r.status !== 0 && !o.anyExit) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`)
  return ms
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const task = (name: string, args: string[] = []) => {
  const [cmd, ...argv] = taskCommand(repo.root, name, args)
  return timed(cmd, argv)
}
/**
 * The fake docker's own time for these calls, one after the other (not logged, so the recording stays; some exit
 * non-zero by design, e.g. `network inspect` of a missing network). The first
 * state reads of a cold up get the derived URLs through the environment (no derived.env yet): give them the same.
 */
const replay = (calls: DockerCall[], derived: Record<string, string>) =>
  calls.reduce((sum, c) => sum + timed(fake, c.argv, { cwd: c.cwd, env: { ...derived, ...env, FAKE_DOCKER_LOG: undefined }, anyExit: true }), 0)
const fresh = () => {
  rmSync(join(repo.root, '.stackyard'), { recursive: true, force: true })
  rmSync(join(repo.root, 'caddy', 'Caddyfile'), { force: true })
}

try {
  const start = median(Array.from({ length: RUNS }, () => task('up.ts', ['--help'])))
  const cold: number[] = []
  const warm: number[] = []
  let coldCalls: DockerCall[] = []
  let warmCalls: DockerCall[] = []
  for (let i = 0; i < RUNS; i++) {
    repo.resetDocker()
    fresh()
    cold.push(task('up.ts'))
    coldCalls = repo.dockerCalls()
    rmSync(env.FAKE_DOCKER_LOG!, { force: true })
    warm.push(task('up.ts'))
    warmCalls = repo.dockerCalls()
  }
  const derived = parseDotenv(readFileSync(join(repo.root, '.stackyard', 'derived.env'), 'utf8'))
  const replays = Array.from({ length: RUNS }, () => {
    repo.resetDocker()
    const a = replay(coldCalls, derived)
    const b = replay(warmCalls, derived)
    repo.resetDocker()
    const o = replay(coldCalls.filter((c) => composeSub(c) === 'up'), derived)
    return { a, b, o }
  })
  const floorCold = start + median(replays.map((r) => r.a))
  const floorWarm = start + median(replays.map((r) => r.b))
  const plain = start + median(replays.map((r) => r.o))
  const stacks = coldCalls.filter((c) => composeSub(c) === 'up').length
  const coldMs = median(cold)
  const warmMs = median(warm)
  console.log(`${stacks} stacks; task start ${start.toFixed(0)} ms; median of ${RUNS} runs`)
  console.log(
    table([
      ['case', 'wall', 'docker calls', 'floor', 'ratio to floor', 'ratio to plain script'],
      ['up, nothing running', `${coldMs.toFixed(0)} ms`, String(coldCalls.length), `${floorCold.toFixed(0)} ms`, (coldMs / floorCold).toFixed(2), (coldMs / plain).toFixed(2)],
      ['up again (no-op)', `${warmMs.toFixed(0)} ms`, String(warmCalls.length), `${floorWarm.toFixed(0)} ms`, (warmMs / floorWarm).toFixed(2), (warmMs / plain).toFixed(2)],
      ['plain script (baseline)', `${plain.toFixed(0)} ms`, String(stacks), '', '', '1.00'],
    ]),
  )
} finally {
  repo.cleanup()
}
