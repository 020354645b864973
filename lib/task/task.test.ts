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
