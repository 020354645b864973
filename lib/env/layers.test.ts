// Tests for lib/env/layers.ts: real files in temp dirs, Compose's repeated --env-file semantics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import { EnvFileError, loadEnvLayers, secretLayerApplies } from './layers.ts'

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-env-layers-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text)
  return root
}

/** every file layer, whatever the secret-layer rule says (these tests are about layering itself) */
const ALL_FILES = ['.env.global', '.env', '.env.infisical']

test('compose-go TestMultipleFiles: later files win, and the shell wins inside interpolation', () => {
  const root = fixture({
    'base.env': '\nENV_HOSTNAME=localhost\nENV_MY_URL="http://${ENV_HOSTNAME}"\n',
    'override.env': '\nENV_HOSTNAME=dev.my-company.com\nENV_MY_URL="http://${ENV_HOSTNAME}"\n',
  })
  const files = ['base.env', 'override.env']
  assert.deepEqual(loadEnvLayers({ root, files, shell: {} }).files, { ENV_HOSTNAME: 'dev.my-company.com', ENV_MY_URL: 'http://dev.my-company.com' })
  const withShell = loadEnvLayers({ root, files, shell: { ENV_HOSTNAME: 'host.local' } })
  assert.deepEqual(withShell.files, { ENV_HOSTNAME: 'dev.my-company.com', ENV_MY_URL: 'http://host.local' })
  assert.deepEqual(withShell.values, { ENV_HOSTNAME: 'host.local', ENV_MY_URL: 'http://host.local' })
})

test('default files, missing ones skipped; sources, history and shadowing', () => {
  const root = fixture({
    '.env.global': 'DOMAIN=example.org\nTZ=UTC\nLOG=info\n',
    '.env': '# local\nTZ=Europe/Paris\n\nTOKEN=abc\nTZ=Europe/Berlin\n',
  })
  const env = loadEnvLayers({ root, shell: { TOKEN: 'from-shell', LOG: 'info', PATH: '/bin' } })
  assert.deepEqual(env.loadedFiles, ['.env.global', '.env'])
  assert.deepEqual(env.values, { DOMAIN: 'example.org', TZ: 'Europe/Berlin', LOG: 'info', TOKEN: 'from-shell' })
  assert.deepEqual(env.files, { DOMAIN: 'example.org', TZ: 'Europe/Berlin', LOG: 'info', TOKEN: 'abc' })
  assert.deepEqual(env.sources, {
    DOMAIN: { kind: 'file', file: '.env.global', line: 1 },
    TZ: { kind: 'file', file: '.env', line: 5 },
    LOG: { kind: 'shell' },
    TOKEN: { kind: 'shell' },
  })
  assert.deepEqual(env.history.TZ, [
    { kind: 'file', file: '.env.global', line: 2 },
    { kind: 'file', file: '.env', line: 2 },
    { kind: 'file', file: '.env', line: 5 },
  ])
  assert.deepEqual(env.history.TOKEN, [{ kind: 'file', file: '.env', line: 4 }, { kind: 'shell' }])
  assert.deepEqual(env.shadowed, [
    { key: 'LOG', file: '.env.global', line: 3, differs: false },
    { key: 'TOKEN', file: '.env', line: 4, differs: true },
  ])
  assert.equal(env.lookup('PATH'), '/bin', 'the lookup sees the whole shell')
  assert.equal(env.lookup('TOKEN'), 'from-shell')
  assert.equal(env.lookup('DOMAIN'), 'example.org')
  assert.equal(env.lookup('NOPE'), undefined)
  assert.equal(env.lookup('toString'), undefined)
})

test('interpolation inside a file: shell first, then earlier lines (which override earlier files), then derived', () => {
  const root = fixture({
    '.env.global': 'A=global\nHOST=example.org\n',
    '.env': 'A=local\nB=${A}\nC=${SHELLVAR}-${HOST}\nD=${URL}\nE=$DERIVED_ONLY\n',
    '.env.infisical': 'F=${B}/${A}\n',
  })
  const env = loadEnvLayers({ root, files: ALL_FILES, shell: { SHELLVAR: 's' }, derived: { URL: 'https://app.example.org', DERIVED_ONLY: 'd', HOST: 'derived-host' } })
  assert.deepEqual(env.values, {
    URL: 'https://app.example.org',
    DERIVED_ONLY: 'd',
    HOST: 'example.org',
    A: 'local',
    B: 'local',
    C: 's-example.org',
    D: 'https://app.example.org',
    E: 'd',
    F: 'local/local',
  })
  assert.deepEqual(env.sources.URL, { kind: 'derived' })
  assert.deepEqual(env.history.HOST, [{ kind: 'derived' }, { kind: 'file', file: '.env.global', line: 2 }])
  const shadow = loadEnvLayers({ root, files: ALL_FILES, shell: { A: 'shell' } })
  assert.deepEqual([shadow.values.A, shadow.values.B, shadow.files.A, shadow.values.F], ['shell', 'shell', 'local', 'shell/shell'])
})

test('bare keys inherit from the shell; a bare key the shell lacks keeps the earlier value', () => {
  const root = fixture({ '.env.global': 'HOME=/global\n', '.env': 'HOME\nUSER\n' })
  const env = loadEnvLayers({ root, shell: { USER: 'me' } })
  assert.deepEqual(env.files, { HOME: '/global', USER: 'me' })
  assert.deepEqual(env.sources.HOME, { kind: 'file', file: '.env.global', line: 1 })
})

test('a file Compose rejects becomes EnvFileError naming file:line with a hint', () => {
  const root = fixture({ '.env.global': 'A=1\n', '.env': 'A=1\nB=2\n# note\nC="never\nclosed\n' })
  assert.throws(
    () => loadEnvLayers({ root, shell: {} }),
    (err: unknown) => {
      assert.ok(err instanceof EnvFileError && err instanceof ConfigError)
      assert.equal(err.message, '.env:4:3: unterminated quoted value: the quote opened here is never closed (expected a closing quote)')
      assert.deepEqual([err.file, err.line, err.exitCode], ['.env', 4, 2])
      assert.match(err.hint, /quote the value with double quotes and escape \\" and \\\\ inside/)
      return true
    },
  )
  const required = fixture({ '.env': 'A=1\nB=${TOKEN:?set it}\n' })
  assert.throws(() => loadEnvLayers({ root: required, shell: {} }), {
    message: '.env:2:3: required variable TOKEN is missing a value (expected it set in the shell, an earlier line or an earlier file)',
    hint: 'set TOKEN in your shell or on an earlier line or file, or drop the :? check',
  })
  assert.equal(loadEnvLayers({ root: required, shell: { TOKEN: 't' } }).values.B, 't')
  const badKey = fixture({ '.env.infisical': 'GOOD=1\nBAD KEY=2\n' })
  assert.throws(() => loadEnvLayers({ root: badKey, files: ALL_FILES, shell: {} }), { message: '.env.infisical:2:4: key cannot contain a space (expected KEY=value)', line: 2 })
})

test('a syntax error never echoes a value; an unclosed quote is blamed on the line where it opened', () => {
  const passphrase = 'correct horse battery staple 42'
  const next = 'redis-valid-secret-99'
  const root = fixture({ '.env': `STACKYARD_BACKUP_PASSPHRASE="${passphrase}\nREDIS_PASSWORD="${next}"\nC=3\n` })
  assert.throws(
    () => loadEnvLayers({ root, shell: {} }),
    (err: unknown) => {
      assert.ok(err instanceof EnvFileError)
      assert.match(err.message, /^\.env:1:29: unterminated quoted value: the " opened here is not closed on line 1 \(expected a closing "\)/)
      assert.deepEqual([err.line, err.column, err.exitCode], [1, 29, 2])
      assert.match(err.hint, /close the " quote opened on line 1/)
      for (const text of [err.message, err.hint, String(err.stack)]) {
        for (const fragment of [passphrase, 'correct', next, 'redis-valid']) assert.ok(!text.includes(fragment), `no value fragment in: ${text}`)
      }
      return true
    },
  )
  const cases: Array<[string, RegExp]> = [
    ['A=1\nsecret-value-7 x=2\n', /^\.env:2:15: key cannot contain a space/],
    ['A=1\nB=pre$$fix${top.secret-99}\n', /^\.env:2:3: invalid \$\{…\} template in the value/],
    ['A=1\nhunter2-secret"=1\n', /^\.env:2:15: unexpected character in a variable name/],
    ['A=1\nB=${C:?hunter2-secret}\n', /^\.env:2:3: required variable C is missing a value/],
  ]
  for (const [text, message] of cases) {
    const dir = fixture({ '.env': text })
    assert.throws(() => loadEnvLayers({ root: dir, shell: {} }), (err: unknown) => {
      assert.ok(err instanceof EnvFileError)
      assert.match(err.message, message)
      assert.ok(!/hunter2|secret-value|top\.secret/.test(err.message + err.hint), err.message)
      return true
    })
  }
})

test('.env.infisical is a layer only while Infisical is configured by the layers below it or the shell', () => {
  const identity = 'INFISICAL_CLIENT_ID=id\nINFISICAL_CLIENT_SECRET=secret-123\nINFISICAL_PROJECT_ID=p\n'
  const leftover = fixture({ '.env.global': 'TZ=Etc/UTC\n', '.env': 'A=1\n', '.env.infisical': 'TZ=America/New_York\nINFISICAL_CLIENT_ID=x\nINFISICAL_CLIENT_SECRET=y\nINFISICAL_PROJECT_ID=z\n' })
  const off = loadEnvLayers({ root: leftover, shell: {} })
  assert.equal(off.values.TZ, 'Etc/UTC', 'an identity inside the export itself does not switch it on')
  assert.deepEqual(off.loadedFiles, ['.env.global', '.env'])
  assert.equal(secretLayerApplies(leftover, {}), false)
  const configured = fixture({ '.env.global': 'TZ=Etc/UTC\n', '.env': identity, '.env.infisical': 'TZ=America/New_York\n' })
  assert.equal(loadEnvLayers({ root: configured, shell: {} }).values.TZ, 'America/New_York')
  assert.equal(secretLayerApplies(configured, {}), true)
  const byShell = fixture({ '.env.global': 'TZ=Etc/UTC\n', '.env.infisical': 'TZ=America/New_York\n' })
  const shell = { INFISICAL_CLIENT_ID: 'id', INFISICAL_CLIENT_SECRET: 's', INFISICAL_PROJECT_ID: 'p' }
  assert.equal(loadEnvLayers({ root: byShell, shell }).values.TZ, 'America/New_York')
  assert.equal(secretLayerApplies(byShell, shell), true)
  assert.equal(secretLayerApplies(fixture({ '.env': identity }), {}), false, 'configured, but no export yet')
})

test('an unreadable file throws EnvFileError; a missing one is skipped', () => {
  const root = fixture({})
  mkdirSync(join(root, '.env'))
  assert.throws(() => loadEnvLayers({ root, shell: {} }), (err: unknown) => err instanceof EnvFileError && err.file === '.env' && /^\.env: cannot read: /.test(err.message))
  assert.deepEqual(loadEnvLayers({ root, files: ['nope.env'], shell: {} }).loadedFiles, [])
})

test('shell defaults to process.env, which is never written', () => {
  const root = fixture({ '.env': 'STACKYARD_LAYERS_TEST=file\nSTACKYARD_LAYERS_OTHER=x\n' })
  process.env.STACKYARD_LAYERS_TEST = 'process'
  try {
    const before = { ...process.env }
    const env = loadEnvLayers({ root })
    assert.equal(env.values.STACKYARD_LAYERS_TEST, 'process')
    assert.deepEqual({ ...process.env }, before)
    assert.equal(process.env.STACKYARD_LAYERS_OTHER, undefined)
  } finally {
    delete process.env.STACKYARD_LAYERS_TEST
  }
})

test('a key named __proto__ is an ordinary entry', () => {
  const env = loadEnvLayers({ root: fixture({ '.env': '__proto__=x\n' }), shell: {} })
  assert.equal(Object.getPrototypeOf(env.values), Object.prototype)
  assert.deepEqual([Object.keys(env.values), env.values.__proto__, env.sources.__proto__], [['__proto__'], 'x', { kind: 'file', file: '.env', line: 1 }])
})
