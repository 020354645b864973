// lib/boot/: how `npx zx tasks/<task>.ts` runs TypeScript on Node 20. A task runs from a cached bundle that is rebuilt
// after any edit (never stale code), a task that does not compile is named with its line, the script sees its own path,
// and with --verbose a bug's stack trace points at the TypeScript line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { taskCommand } from './helpers/task-command.ts'

function run(repo: TempRepo, task: string, args: string[] = []) {
  const [cmd, ...argv] = taskCommand(repo.root, task, args)
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.NODE_OPTIONS
  return spawnSync(cmd, argv, { cwd: repo.root, env, encoding: 'utf8' })
}

const PROBE = `import { task } from '../lib/task/task.ts'
import { value } from '../lib/core/_probe-value.ts'
export default await task({ summary: 'probe', async run(ctx) { ctx.out(\`\${value} \${process.argv[2]}\`) } }, import.meta)
`

test('an edit to a library file is in the next run: the bundle is rebuilt, and an earlier one reused when it fits again', () => {
  const repo = tempRepo()
  try {
    repo.write('tasks/_probe.ts', PROBE)
    repo.write('lib/core/_probe-value.ts', "export const value = 'one'\n")
    const first = run(repo, '_probe.ts')
    assert.equal(first.status, 0, first.stderr)
    assert.equal(first.stdout.trim(), `one ${repo.root}/tasks/_probe.ts`, 'the script sees its own path, not the bundle')
    repo.write('lib/core/_probe-value.ts', "export const value = 'two'\n")
    assert.equal(run(repo, '_probe.ts').stdout.trim(), `two ${repo.root}/tasks/_probe.ts`)
    repo.write('lib/core/_probe-value.ts', "export const value = 'one'\n")
    assert.equal(run(repo, '_probe.ts').stdout.trim(), `one ${repo.root}/tasks/_probe.ts`)
  } finally {
    repo.cleanup()
  }
})

test('a task that does not compile: exit 1, the file and line named, no stack trace, nothing run', () => {
  const repo = tempRepo()
  try {
    repo.write('tasks/_broken.ts', "import { task } from '../lib/task/task.ts'\nprocess.stdout.write('ran')\nconst x = (1 +\nexport default await task({ summary: 'x', async run() {} }, import.meta)\n")
    const r = run(repo, '_broken.ts')
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /tasks\/_broken\.ts does not compile:\n {2}tasks\/_broken\.ts:4:\d+: /)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  } finally {
    repo.cleanup()
  }
})

test('--verbose: the stack trace of a bug names the TypeScript file and line', () => {
  const repo = tempRepo()
  try {
    repo.write('tasks/_bug.ts', "import { task } from '../lib/task/task.ts'\nexport default await task({\n  summary: 'bug',\n  async run() {\n    throw new TypeError('broken on purpose')\n  },\n}, import.meta)\n")
    const quiet = run(repo, '_bug.ts')
    assert.equal(quiet.status, 1)
    assert.match(quiet.stderr, /broken on purpose/)
    assert.doesNotMatch(quiet.stderr, /_bug\.ts:\d+/)
    const verbose = run(repo, '_bug.ts', ['--verbose'])
    assert.equal(verbose.status, 1)
    assert.match(verbose.stderr, /tasks\/_bug\.ts:5:\d+/)
  } finally {
    repo.cleanup()
  }
})

test('a cache folder that cannot be written: the task still runs, compiled module by module', (t) => {
  const repo = tempRepo()
  const cache = join(repo.root, 'node_modules', '.cache')
  try {
    // the copy gets a node_modules of its own (links to the shared one's packages) whose .cache is a read-only mount
    const shared = realpathSync(join(repo.root, 'node_modules'))
    rmSync(join(repo.root, 'node_modules'))
    mkdirSync(cache, { recursive: true })
    for (const name of readdirSync(shared)) if (name !== '.cache') symlinkSync(join(shared, name), join(repo.root, 'node_modules', name))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', cache], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      t.skip(`cannot mount a read-only folder here: ${mounted.stderr.trim()}`)
      return
    }
    const r = run(repo, 'env.ts', ['--help'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Usage: npx zx tasks\/env\.ts/)
    assert.deepEqual(readdirSync(cache), [], 'nothing written into the read-only cache')
  } finally {
    spawnSync('umount', [cache])
    repo.cleanup()
  }
})
