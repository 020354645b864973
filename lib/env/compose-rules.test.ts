// The three env-file behaviours that differ between Compose versions, each on both sides of its version boundary.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadEnvLayers, EnvFileError } from './layers.ts'
import { modelledCompose, recordComposeVersion, rulesFor, COMPOSE_VERSION_FILE } from './compose-rules.ts'
import { CURRENT_RULES } from './dotenv.ts'

const layers = (version: string, files: Record<string, string>) =>
  loadEnvLayers({ root: '/nonexistent', files: Object.keys(files), contents: new Map(Object.entries(files)), shell: {}, rules: rulesFor(version) })

test('rulesFor: each behaviour switched off exactly at the version that fixed it', () => {
  assert.equal(rulesFor('2.38.9').earlierFilesFirst, true)
  assert.equal(rulesFor('2.39.0').earlierFilesFirst, false)
  assert.equal(rulesFor('2.39.2').setenvStrict, true)
  assert.equal(rulesFor('2.39.3').setenvStrict, false)
  assert.equal(rulesFor('5.0.1').eagerDefaults, true)
  assert.equal(rulesFor('5.0.2').eagerDefaults, false)
  assert.deepEqual(rulesFor('2.26.1-4'), { earlierFilesFirst: true, setenvStrict: true, eagerDefaults: true }, "Debian trixie's package")
  assert.deepEqual(rulesFor('v2.24.0-desktop.1'), { earlierFilesFirst: true, setenvStrict: true, eagerDefaults: true })
  assert.deepEqual(rulesFor(undefined), CURRENT_RULES)
  assert.deepEqual(rulesFor('not a version'), CURRENT_RULES)
})

test('1. multi-file lookup: before 2.39.0 an earlier file\'s key wins over this file\'s own earlier line', () => {
  const files = { '.env.global': 'DOMAIN=\n', '.env': 'DOMAIN=example.org\nN8N_URL=https://n8n.${DOMAIN}\n' }
  assert.equal(layers('2.38.1', files).values.N8N_URL, 'https://n8n.')
  assert.equal(layers('2.39.0', files).values.N8N_URL, 'https://n8n.example.org')
  // the final value of the key itself is the later file's under both
  assert.equal(layers('2.38.1', files).values.DOMAIN, 'example.org')
  // inside one file nothing differs
  const one = { '.env': 'DOMAIN=example.org\nN8N_URL=https://n8n.${DOMAIN}\n' }
  assert.equal(layers('2.38.1', one).values.N8N_URL, layers('2.39.0', one).values.N8N_URL)
})

test('1b. bare key: before 2.39.0 it inherits an earlier file\'s value, over its own file\'s earlier line', () => {
  // measured with Compose 2.26.1: `.env.global: A=1` · `.env: A=2` then `A` gives A=1; compose-go at e70e961 keeps 2
  const files = { '.env.global': 'A=1\n', '.env': 'A=2\nA\n' }
  assert.equal(layers('2.26.1', files).values.A, '1')
  assert.equal(layers('2.39.0', files).values.A, '2')
  // the shell still comes first
  const shell = { A: 'sh' }
  const withShell = loadEnvLayers({ root: '/nonexistent', files: Object.keys(files), contents: new Map(Object.entries(files)), shell, rules: rulesFor('2.26.1') })
  assert.equal(withShell.values.A, 'sh')
  assert.equal(withShell.files.A, 'sh')
})

test('2. setenv: before 2.39.3 an empty key or a NUL in a value is a config error naming file:line', () => {
  for (const [text, line, why] of [
    ['A=1\nDEBUG', 2, /text that is not KEY=value/],
    ['A=1\n=x\n', 2, /a value with no key before "="/],
    ['A="x"junk', 1, /text that is not KEY=value/],
    ['A=1\nB="a\0b"\n', 2, /the value of B holds a NUL character/],
  ] as const) {
    assert.throws(() => layers('2.39.2', { '.env': text }), (err: unknown) => {
      assert.ok(err instanceof EnvFileError, String(err))
      assert.equal(err.file, '.env')
      assert.equal(err.line, line, text)
      assert.match(err.message, why)
      assert.match(err.hint, /setenv: invalid argument/)
      return true
    })
    assert.doesNotThrow(() => layers('2.39.3', { '.env': text }), text)
  }
})

test('2b. setenv: before 2.39.3 it applies to the merged result of all files, after every file is read', () => {
  // measured with Compose 2.26.1: a NUL a later file overrides, or in a key the shell sets, passes; a syntax error
  // of a later file is reported instead of an earlier file's NUL
  const both = { '.env': 'A="a\0b"\n', '.env.infisical': 'A=ok\n' }
  assert.equal(layers('2.26.1', both).values.A, 'ok')
  const shell = loadEnvLayers({ root: '/nonexistent', files: ['.env'], contents: new Map([['.env', 'A="a\0b"\n']]), shell: { A: 'sh' }, rules: rulesFor('2.26.1') })
  assert.equal(shell.values.A, 'sh')
  assert.throws(() => layers('2.26.1', { '.env': 'A="a\0b"\n', '.env.infisical': 'B=${a.b}\n' }), (err: unknown) => {
    assert.ok(err instanceof EnvFileError)
    assert.equal(err.file, '.env.infisical')
    assert.match(err.message, /invalid \$\{…\} template/)
    return true
  })
  // a bare key inheriting the earlier file's NUL fails (its own line is named)
  assert.throws(() => layers('2.26.1', { '.env': 'A="a\0b"\n', '.env.infisical': 'A\n' }), /\.env\.infisical:1:1: the value of A holds a NUL/)
})

test('2c. before 2.39.3 the files are read a second time against the merged result: a :? check can fail then', () => {
  // measured with Compose 2.26.1: `Y=1`, `A=${Y:?boom}`, `Y=` fails with "required variable Y is missing a value: boom"
  const one = { '.env': 'Y=1\nA=${Y:?boom}\nY=\n' }
  assert.throws(() => layers('2.39.2', one), (err: unknown) => {
    assert.ok(err instanceof EnvFileError)
    assert.equal(err.file, '.env')
    assert.equal(err.line, 2)
    assert.match(err.message, /required variable Y is missing a value/)
    return true
  })
  assert.equal(layers('2.39.3', one).values.A, '1')
  // across files too, and the shell still wins
  const two = { '.env': 'Y=1\nA=${Y:?b}\n', '.env.infisical': 'Y=\n' }
  assert.throws(() => layers('2.26.1', two), /\.env:2:\d+: required variable Y is missing a value/)
  const withShell = loadEnvLayers({ root: '/nonexistent', files: Object.keys(two), contents: new Map(Object.entries(two)), shell: { Y: '1' }, rules: rulesFor('2.26.1') })
  assert.equal(withShell.values.A, '1')
  // the values stay those of the first reading: `Y=`, `A=${Y:-dflt}`, `Y=1` gives A=dflt
  assert.equal(layers('2.26.1', { '.env': 'Y=\nA=${Y:-dflt}\nY=1\n' }).values.A, 'dflt')
})

test('3. eager defaults: before 5.0.2 ${X:-${Y:?boom}} fails with Y unset although X is set', () => {
  const files = { '.env': 'X=1\nA=${X:-${Y:?boom}}\n' }
  assert.throws(() => layers('5.0.1', files), /required variable Y is missing a value/)
  assert.equal(layers('5.0.2', files).values.A, '1')
  // an alternative (:+) and a :? error text are evaluated eagerly too (measured with Compose 2.26.1)
  assert.throws(() => layers('2.26.1', { '.env': 'A=${X:+${Y:?no}}\n' }), /required variable Y/)
  assert.equal(layers('5.0.2', { '.env': 'A=${X:+${Y:?no}}\n' }).values.A, '')
  assert.throws(() => layers('2.26.1', { '.env': 'X=1\nA=${X:?${Y:?no}}\n' }), /required variable Y is missing a value/)
  assert.equal(layers('5.0.2', { '.env': 'X=1\nA=${X:?${Y:?no}}\n' }).values.A, '1')
})

test('the Compose modelled: the shell\'s STACKYARD_COMPOSE_VERSION, else the version preflight recorded, else the current rules', async () => {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-rules-'))
  try {
    assert.deepEqual(modelledCompose(root, {}), { source: 'default', rules: CURRENT_RULES })
    assert.equal(await recordComposeVersion(root, '2.26.1'), true)
    assert.equal(await recordComposeVersion(root, '2.26.1'), false, 'unchanged: not written again')
    assert.deepEqual(modelledCompose(root, {}), { version: '2.26.1', source: 'measured', rules: rulesFor('2.26.1') })
    assert.equal(modelledCompose(root, { STACKYARD_COMPOSE_VERSION: '5.1.0' }).source, 'shell')
    // the loader follows it: the same files read differently under the recorded old Compose
    const files = ['.env.global', '.env']
    const contents = new Map([['.env.global', 'D=\n'], ['.env', 'D=x\nU=${D}\n']])
    assert.equal(loadEnvLayers({ root, files, contents, shell: {} }).values.U, '')
    assert.equal(loadEnvLayers({ root, files, contents, shell: { STACKYARD_COMPOSE_VERSION: '2.39.3' } }).values.U, 'x')
    assert.ok(COMPOSE_VERSION_FILE.startsWith('.stackyard/'))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
