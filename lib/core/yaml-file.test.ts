// YAML within bounds: syntax errors, alias bombs, oversized and non-regular files are ConfigErrors with file:line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from './errors.ts'
import { MAX_YAML_BYTES, parseYaml, readYamlFile } from './yaml-file.ts'

const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n')

test('parseYaml returns the data, with anchors and aliases of ordinary size', () => {
  const r = parseYaml('x-env: &e {TZ: UTC}\nservices:\n  a: {environment: *e}\n  b: {environment: *e}\n', 'f.yml')
  assert.deepEqual((r.data as { services: unknown }).services, { a: { environment: { TZ: 'UTC' } }, b: { environment: { TZ: 'UTC' } } })
})

test('an alias bomb is a ConfigError at the line of its first alias, not a hang or a ReferenceError', () => {
  assert.throws(() => parseYaml(`# comment\n${bomb}\n`, 'c.yml'), (e: unknown) => e instanceof ConfigError && e.file === 'c.yml' && e.line === 3 && /^c\.yml:3: invalid YAML: its aliases expand to more than 1000 nodes/.test(e.message))
})

test('a syntax error names file:line', () => {
  assert.throws(() => parseYaml('a: 1\nb: [\n', 'bad.yml'), (e: unknown) => e instanceof ConfigError && /^bad\.yml:\d+: invalid YAML: /.test(e.message))
  assert.throws(() => parseYaml('a: 1\na: 2\n', 'dup.yml'), (e: unknown) => e instanceof ConfigError && /^dup\.yml:2: invalid YAML: /.test(e.message))
})

test('readYamlFile refuses a file over the size bound and a FIFO without reading them', () => {
  const d = mkdtempSync(join(tmpdir(), 'yaml-file-'))
  writeFileSync(join(d, 'big.yml'), `a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`)
  assert.throws(() => readYamlFile(join(d, 'big.yml'), 'big.yml'), /big\.yml: too large for a YAML file/)
  assert.throws(() => parseYaml(`a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`, 'big.yml'), /big\.yml: too large/)
  execFileSync('mkfifo', [join(d, 'p.yml')])
  assert.throws(() => readYamlFile(join(d, 'p.yml'), 'p.yml'), /p\.yml is not a regular file \(it is a FIFO\)/)
  assert.throws(() => readYamlFile(join(d, 'none.yml'), 'none.yml', { readHint: 'check --answers' }), (e: unknown) => e instanceof ConfigError && e.hint === 'check --answers')
})
