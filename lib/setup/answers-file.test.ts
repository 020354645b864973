import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.ts'
import { loadAnswersFile } from './answers-file.ts'

const file = (text: string, mode = 0o600) => {
  const p = join(mkdtempSync(join(tmpdir(), 'answers-')), 'setup.yml')
  writeFileSync(p, text, { mode })
  return p
}

test('answers file: the flag names as keys, lists as YAML sequences or comma strings, secrets apart', () => {
  const r = loadAnswersFile(file(['environment: public', 'domain: Example.com', 'stacks: [data, apps]', 'access-emails: a@example.com, b@example.com', 'infisical: external', 'infisical-url: https://i.example.com', 'infisical-client-id: 1234', 'secrets:', '  INFISICAL_CLIENT_SECRET: s3cr3t'].join('\n')), 'setup.yml')
  assert.deepEqual([r.answers.environment, r.answers.domain, r.answers.stacks, r.answers.accessEmails, r.answers.infisicalClientId], ['public', 'example.com', ['data', 'apps'], 'a@example.com,b@example.com', '1234'])
  assert.deepEqual(r.secrets, { INFISICAL_CLIENT_SECRET: 's3cr3t' })
  assert.deepEqual(r.warnings, [])
})

test('answers file: errors name the file, the line and the field (exit 2); a readable file with secrets is warned about', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => loadAnswersFile(file(text), 'setup.yml'), (e: Error) => e instanceof ConfigError && e.exitCode === 2 && re.test(e.message))
  bad('environment: staging\n', /^setup\.yml:1: environment: Invalid option/)
  bad('environment: private\ndomain: https://example.com\n', /^setup\.yml:2: domain: the bare domain only/)
  bad('domain: example.com\nenviroment: private\n', /^setup\.yml:2: enviroment: unknown field/)
  bad('secrets:\n  not-a-name: x\n', /secrets\.not-a-name/)
  bad('domain: [unclosed\n', /^setup\.yml:\d+: invalid YAML/)
  assert.throws(() => loadAnswersFile('/nonexistent/setup.yml', 'setup.yml'), /setup\.yml: cannot read the answers file \(ENOENT\)/)
  const open = loadAnswersFile(file('secrets:\n  CLOUDFLARE_API_TOKEN: t\n', 0o644), 'setup.yml')
  assert.match(open.warnings[0], /setup\.yml holds secrets and other users can read it \(mode 0644\): chmod 600 setup\.yml/)
})
