// Shared by the benchmarks: the median wall time of a synchronous function after a warm-up; the CPU time of a command
// and everything it started.
import { spawnSync } from 'node:child_process'

export function median(fn: () => unknown, iterations: number, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn()
  const times: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = performance.now()
    fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

/** CPU seconds of a bash command and every process it started (bash's `times` for its children), its output discarded. */
export function treeCpu(command: string, o: { cwd: string; env: NodeJS.ProcessEnv }): { user: number; sys: number; status: number | null } {
  const r = spawnSync('bash', ['-c', `${command} >/dev/null 2>&1; code=$?; times; exit $code`], { cwd: o.cwd, env: o.env, encoding: 'utf8' })
  const children = r.stdout.trim().split('\n').pop() ?? ''
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]))
  if (secs.length !== 2) throw new Error(`${command}: no timing: ${r.stdout.slice(-200)} ${r.stderr.slice(-200)}`)
  return { user: secs[0], sys: secs[1], status: r.status }
}
