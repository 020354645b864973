// Ctrl-C and the harness: outside undoable work it exits at once (130); inside, the first one aborts ctx.signal so the
// work undoes what it did and ends with exit 130, and a second one exits at once. Spawned: only a process shows this.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { tempRepo } from './helpers/repo.ts'
import { taskCommand } from './helpers/task-command.ts'

const TASK = `import { task } from '../lib/task/task.ts'
import { CancelledError } from '../lib/core/errors.ts'
await task({
  summary: 'waits for Ctrl-C inside undoable work',
  async run(ctx) {
    await ctx.undoable(async () => {
      process.stdout.write('changed\\n')
      const busy = setInterval(() => {}, 1000) // real work always has something pending (a child, a socket)
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
      clearInterval(busy)
      await new Promise((r) => setTimeout(r, 300)) // the undo takes a while; a second Ctrl-C may arrive meanwhile
      process.stdout.write('undone\\n')
      throw new CancelledError('stopped and undone')
    })
  },
})
`

async function interrupt(times: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const repo = tempRepo()
  try {
    repo.write('tasks/undoable.ts', TASK)
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' }
    delete env.NODE_OPTIONS
    const [cmd, ...argv] = taskCommand(repo.root, 'undoable.ts')
    const child = spawn(cmd, argv, { cwd: repo.root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('changed')) resolve() }))
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)))
    await ready
    for (let i = 0; i < times; i++) {
      child.kill('SIGINT')
      await new Promise((r) => setTimeout(r, 50))
    }
    return { code: await exited, stdout, stderr }
  } finally {
    repo.cleanup()
  }
}

test('Ctrl-C during undoable work: the work hears it, undoes, and the run ends with 130', async () => {
  const r = await interrupt(1)
  assert.equal(r.code, 130, r.stderr)
  assert.match(r.stdout, /undone/)
  assert.match(r.stderr, /cancelling: putting back what this run changed \(Ctrl-C again stops at once/)
  assert.match(r.stderr, /stopped and undone/)
})

test('a second Ctrl-C stops at once, before the undo ends (130)', async () => {
  const r = await interrupt(2)
  assert.equal(r.code, 130, r.stderr)
  assert.doesNotMatch(r.stdout, /undone/)
  assert.match(r.stderr, /\ncancelled\n/)
})
