// Tests run tasks in-process (test/helpers/repo.ts); this file keeps that honest: the same commands run both ways on
// identical copies give the same exit code, stdout, stderr, files and docker calls (argv, cwd, stdin, environment).
// The spawned side is a process as `npx zx tasks/<task>` starts it (test/helpers/task-command.ts) (npx zx itself: foundation.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixtureRepo, portsFrom, resetCalls } from './stack-fixtures.ts'
import type { RunResult, TempRepo } from './helpers/repo.ts'

/** [task, args, run options]: success, a failing check (exit 1), usage errors (exit 2), a dry run and changes */
const RUNS: Array<[string, string[], { input?: string; env?: Record<string, string> }?]> = [
  ['status.ts', []],
  ['up.ts', ['--dry-run']],
  ['up.ts', []],
  ['status.ts', ['--json']],
  ['env.ts', ['--bogus']],
  ['doctor.ts', []],
  ['down.ts', ['--stack', 'nope']],
  ['compose.ts', ['--stack', 'infrastructure', '--', 'ps']],
  ['secrets.ts', ['--help']],
  ['down.ts', ['--yes']],
]

/** the copy's path and timings (a process is slower) replaced, for comparison */
const normal = (repo: TempRepo, text: string) => text.split(repo.root).join('$ROOT').replace(/\b\d+(\.\d+)? (ms|s)\b/g, '<time>')
const calls = (repo: TempRepo) =>
  repo.dockerCalls().map((c) => normal(repo, JSON.stringify(c)))
    .sort() // stacks without dependencies between them start concurrently: the order among them may differ

test('in-process and spawned runs of the same commands agree: exit code, output, docker calls and files', async () => {
  const ports = portsFrom(28240)
  const a = fixtureRepo({ ports })
  const b = fixtureRepo({ ports })
  try {
    for (const [task, args, o] of RUNS) {
      const what = `${task} ${args.join(' ')}`
      const inProc: RunResult = await a.run(task, args, o)
      const spawned: RunResult = await b.run(task, args, { ...o, spawn: true })
      assert.equal(inProc.code, spawned.code, `${what}: exit code\n${inProc.stderr}\n---\n${spawned.stderr}`)
      assert.equal(normal(a, inProc.stdout), normal(b, spawned.stdout), `${what}: stdout`)
      assert.equal(normal(a, inProc.stderr), normal(b, spawned.stderr), `${what}: stderr`)
      assert.deepEqual(calls(a), calls(b), `${what}: docker calls`)
      resetCalls(a)
      resetCalls(b)
    }
    for (const f of ['.env', '.stackyard/derived.env', '.stackyard/proxy-ports.private.yml'])
      assert.equal(a.exists(f) && normal(a, a.read(f)), b.exists(f) && normal(b, b.read(f)), f)
  } finally {
    a.cleanup()
    b.cleanup()
  }
})
