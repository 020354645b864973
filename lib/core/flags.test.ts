import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseArgv, renderHelp, type FlagDecls } from './flags.ts'
import { UsageError } from './errors.ts'

const decls: FlagDecls = {
  'dry-run': { type: 'boolean', help: 'dry' },
  stack: { type: 'strings', help: 'stacks', choices: ['infrastructure', 'apps', 'all'] },
  profile: { type: 'string', help: 'hw', choices: ['cpu', 'gpu-nvidia'], default: 'cpu' },
  since: { type: 'string', help: 'since' },
  keep: { type: 'number', help: 'keep', integer: true, min: 1 },
  yes: { type: 'boolean', short: 'y', help: 'yes' },
}

test('a declared boolean does not swallow the next token', () => {
  const p = parseArgv(['--dry-run', 'apps'], decls, [{ name: 'target', help: 't' }])
  assert.equal(p.flags.dryRun, true)
  assert.equal(p.args.target, 'apps')
})

test('strings accumulate from repeats and commas; defaults apply', () => {
  const p = parseArgv(['--stack', 'apps', '--stack=infrastructure,all'], decls)
  assert.deepEqual(p.flags.stack, ['apps', 'infrastructure', 'all'])
  assert.equal(p.flags.profile, 'cpu')
  assert.equal(parseArgv([], decls).flags.since, undefined)
})

test('--no-x negates booleans; -y short; numbers validated', () => {
  assert.equal(parseArgv(['--no-dry-run'], decls).flags.dryRun, false)
  assert.equal(parseArgv(['-y'], decls).flags.yes, true)
  assert.equal(parseArgv(['--keep', '3'], decls).flags.keep, 3)
  assert.throws(() => parseArgv(['--keep', 'x'], decls), /--keep must be an integer/)
  assert.throws(() => parseArgv(['--keep', '0'], decls), /at least 1/)
})

test('unknown flags, bad choices, missing values and extra arguments are usage errors', () => {
  const err = (argv: string[]) => {
    try {
      parseArgv(argv, decls)
    } catch (e) {
      assert.ok(e instanceof UsageError)
      assert.equal(e.exitCode, 2)
      return e
    }
    assert.fail(`no error for ${argv.join(' ')}`)
  }
  const e1 = err(['--dryrun'])
  assert.match(e1.message, /unknown flag --dryrun/)
  assert.match(e1.hint ?? '', /did you mean --dry-run/)
  assert.match(err(['--profile', 'tpu']).message, /"tpu" is not one of cpu, gpu-nvidia/)
  assert.match(err(['--since']).message, /--since needs a value/)
  assert.match(err(['extra']).message, /unexpected argument: extra/)
  assert.match(err(['--dry-run=maybe']).message, /takes no value/)
})

test('a value that looks like a negative number is a value, -- ends flags', () => {
  assert.equal(parseArgv(['--since', '-5m'], decls).flags.since, '-5m')
  const p = parseArgv(['--', '--dry-run'], decls, [{ name: 'rest', help: 'r', variadic: true }])
  assert.deepEqual(p.args.rest, ['--dry-run'])
  assert.equal(p.flags.dryRun, undefined)
})

test('required positionals and choices', () => {
  const args = [{ name: 'action', help: 'what', required: true, choices: ['render', 'validate'] as const }]
  assert.equal(parseArgv(['render'], {}, args).args.action, 'render')
  assert.throws(() => parseArgv([], {}, args), /missing argument ACTION/)
  assert.throws(() => parseArgv(['reload'], {}, args), /"reload" is not one of render, validate/)
})

test('help is rendered from the declarations', () => {
  const help = renderHelp({ command: 'npx zx tasks/x.ts', summary: 'Do x', args: [{ name: 'action', help: 'what to do', choices: ['a', 'b'] }], flags: decls, common: { verbose: { type: 'boolean', help: 'more' } } })
  for (const needle of ['Usage: npx zx tasks/x.ts [ACTION] [flags]', '--dry-run', '--stack STACK', '(repeatable)', '[default: cpu]', '-y, --yes', '--verbose', 'Exit codes'])
    assert.ok(help.includes(needle), `help lacks ${needle}:\n${help}`)
})
