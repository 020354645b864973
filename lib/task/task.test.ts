import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createContext, report, taskArgv } from './task.ts'
import { clearSecrets, registerSecret } from '../core/redact.ts'
import { ConfigError, CancelledError, UsageError } from '../core/errors.ts'
import { repoRoot } from '../core/paths.ts'

const modes = { flags: {}, args: {}, dryRun: false, json: false, verbose: false, yes: false, interactive: false }

test("the task's own argv starts after the script, however it was started", () => {
  assert.deepEqual(taskArgv(['node', '/x/zx/cli.js', `${repoRoot}/tasks/up.ts`, '--dry-run', 'x']), { script: 'tasks/up.ts', rest: ['--dry-run', 'x'] })
  assert.deepEqual(taskArgv(['node', `${repoRoot}/tasks/00-infrastructure/caddy.ts`, 'render']), { script: 'tasks/00-infrastructure/caddy.ts', rest: ['render'] })
})

test('no prompt without a terminal: confirm and ask fail with the flag to use; --yes confirms', async () => {
  const ctx = createContext({ yes: true }, modes)
  await assert.rejects(ctx.confirm('Delete the volumes?'), (e: unknown) => e instanceof UsageError && /no terminal/.test(e.message) && /--yes/.test(e.hint ?? ''))
  await assert.rejects(ctx.ask.text({ message: 'Domain?' }), (e: unknown) => e instanceof UsageError && /cannot ask "Domain\?"/.test(e.message))
  const yes = createContext({ yes: true }, { ...modes, yes: true })
  await yes.confirm('Delete the volumes?')
})

test('dry-run change runner prints the command and runs nothing', async () => {
  const ctx = createContext({}, { ...modes, dryRun: true, json: true })
  const r = await ctx.change('sh', ['-c', 'exit 7'])
  assert.equal(r.exitCode, 0)
  assert.equal(r.skipped, true)
  assert.deepEqual(ctx.plan, ["sh -c 'exit 7'"])
  const w = await ctx.writeFile('/nonexistent-dir/file', 'x', { mode: 0o600, secret: true })
  assert.equal(w.changed, true)
  assert.match(ctx.plan[1], /^write .*file \(mode 0600\)$/)
})

test('errors map to exit codes and are printed redacted, with the hint', () => {
  clearSecrets()
  registerSecret('super-secret-value-1')
  const lines: string[] = []
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write
  try {
    assert.equal(report(new ConfigError('bad value super-secret-value-1', { hint: 'fix it' })), 2)
    assert.equal(report(new UsageError('nope')), 2)
    assert.equal(report(new CancelledError()), 130)
    assert.equal(report(new Error('boom')), 1)
  } finally {
    process.stderr.write = write
    clearSecrets()
  }
  const text = lines.join('')
  assert.ok(!text.includes('super-secret-value-1'))
  assert.match(text, /bad value ••••/)
  assert.match(text, /hint: fix it/)
  assert.match(text, /unexpected error: boom/)
})

test('runTask: a task as a function of its inputs; its streams, verbosity, secrets and exit code end with the run', async () => {
  const { Readable, Writable } = await import('node:stream')
  const { runTask, isEntry } = await import('./task.ts')
  const { redact } = await import('../core/redact.ts')
  const sink = () => {
    let text = ''
    return Object.assign(new Writable({ write(c, _e, done) { text += c; done() } }), { text: () => text })
  }
  const stdout = sink()
  const stderr = sink()
  const sigint = process.listenerCount('SIGINT')
  const exitCode = process.exitCode
  const code = await runTask(
    {
      summary: 'probe',
      async run(ctx) {
        registerSecret('s3cret-value-of-the-run')
        ctx.out(`out: s3cret-value-of-the-run ${ctx.root} ${ctx.verbose}`)
        ctx.log.debug('only with --verbose')
        const r = await ctx.exec('sh', ['-c', 'printf "%s %s" "$PROBE" "$PWD"'])
        ctx.out(r.stdout)
        return 3
      },
    },
    { argv: ['--verbose'], root: '/tmp', script: 'tasks/probe.ts', env: { ...process.env, PROBE: 'from-the-run' }, stdout, stderr, stdin: Readable.from([]) },
  )
  assert.equal(code, 3)
  assert.match(stdout.text(), /^out: •••• \/tmp true\nfrom-the-run \/tmp\n$/)
  assert.match(stderr.text(), /only with --verbose/)
  // nothing of the run is left in the process: not its secret, its verbosity, its exit code or a signal handler
  assert.equal(redact('s3cret-value-of-the-run'), 's3cret-value-of-the-run')
  assert.equal(process.exitCode, exitCode)
  assert.equal((await import('../core/scope.ts')).scope().verbose, false)
  assert.equal(process.listenerCount('SIGINT'), sigint)
  // errors are reported on the run's stderr with their exit code
  const err = sink()
  assert.equal(await runTask({ summary: 'x', async run() {} }, { argv: ['--nope'], root: '/tmp', script: 'tasks/x.ts', env: {}, stdout: sink(), stderr: err, stdin: Readable.from([]) }), 2)
  assert.match(err.text(), /unknown flag --nope/)
  // a task file runs only as the script the process was started with (node's argument, or zx's)
  assert.equal(isEntry(`${repoRoot}/tasks/up.ts`, ['node', '/x/zx/build/cli.js', 'tasks/up.ts']), process.cwd() === repoRoot)
  assert.equal(isEntry(`${repoRoot}/tasks/up.ts`, ['node', `${repoRoot}/tasks/up.ts`, '--dry-run']), true)
  assert.equal(isEntry(`${repoRoot}/tasks/up.ts`, ['node', `${repoRoot}/tasks/down.ts`]), false)
})
