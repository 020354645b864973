import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UsageError } from '../core/errors.ts'
import { parseArgv } from '../core/flags.ts'
import { loadEnvLayers } from '../env/layers.ts'
import { flagAnswers, readSetupFiles, readStdinSecrets, shellValue, SETUP_FLAGS, type SetupFlags } from './input.ts'

const flags = (...argv: string[]) => flagAnswers(parseArgv(argv, SETUP_FLAGS).flags as SetupFlags)

test('flags become answers (only what was given), checked with the prompts\' rules', () => {
  assert.deepEqual(flags(), {})
  assert.deepEqual(flags('--environment', 'public', '--domain', 'Example.COM', '--stacks', 'data,apps', '--optional', 'none', '--no-start'), { environment: 'public', domain: 'example.com', stacks: ['data', 'apps'], optional: [] })
  assert.throws(() => flags('--domain', 'example'), (e: Error) => e instanceof UsageError && /--domain: "example": not a domain name/.test(e.message))
  assert.throws(() => flags('--access-emails', 'me@x.org,nope'), /"nope" is not an email address/)
  assert.throws(() => flags('--infisical-url', 'ftp://x'), /an http\(s\) URL/)
  assert.throws(() => parseArgv(['--cloudflare', 'maybe'], SETUP_FLAGS), /"maybe" is not one of none, tunnel-token, api-token/)
})

test('--secrets-stdin: dotenv lines from a pipe; a terminal is refused (it would wait for Ctrl-D)', () => {
  assert.deepEqual(readStdinSecrets(false, () => 'CLOUDFLARE_API_TOKEN="a b"\n# comment\nEMPTY=\nX=1\n'), { CLOUDFLARE_API_TOKEN: 'a b', X: '1' })
  assert.throws(() => readStdinSecrets(true, () => ''), (e: Error) => e instanceof UsageError && /from a pipe, and stdin is a terminal/.test(e.message))
})

test('readSetupFiles: .env alone, .env.global alone, every file merged; the shell is not a file', () => {
  const root = mkdtempSync(join(tmpdir(), 'setup-files-'))
  writeFileSync(join(root, '.env.global'), 'STACKYARD_ENVIRONMENT=private\nDOMAIN=\n')
  writeFileSync(join(root, '.env'), 'DOMAIN=a.org\nTOKEN=${HOME_FOR_TEST:-x}\n')
  writeFileSync(join(root, '.env.infisical'), 'N8N_ENCRYPTION_KEY=abc\n')
  const before = process.env.DOMAIN
  process.env.DOMAIN = 'from-the-shell.org'
  let f
  try {
    f = readSetupFiles(root)
  } finally {
    if (before === undefined) delete process.env.DOMAIN
    else process.env.DOMAIN = before
  }
  assert.deepEqual(f.dotEnv, { DOMAIN: 'a.org', TOKEN: 'x' })
  assert.deepEqual(f.global, { STACKYARD_ENVIRONMENT: 'private', DOMAIN: '' })
  // .env.infisical is no layer while Infisical is not configured (the one rule of env-layers)
  assert.deepEqual(f.effective, { STACKYARD_ENVIRONMENT: 'private', DOMAIN: 'a.org', TOKEN: 'x' })
})

test('shellValue: what the shell sets, read from the env layer (a file value is not the shell\'s; a shell-only key is)', () => {
  const root = mkdtempSync(join(tmpdir(), 'setup-shell-'))
  writeFileSync(join(root, '.env'), 'DOMAIN=a.org\nCLOUDFLARE_TUNNEL_TOKEN=from-file\n')
  const env = loadEnvLayers({ root, shell: { CLOUDFLARE_API_TOKEN: 'only-in-shell', DOMAIN: 'shell.org' } })
  assert.equal(shellValue(env, 'CLOUDFLARE_API_TOKEN'), 'only-in-shell')
  assert.equal(shellValue(env, 'DOMAIN'), 'shell.org')
  assert.equal(shellValue(env, 'CLOUDFLARE_TUNNEL_TOKEN'), undefined, 'a file value does not count as the shell\'s')
  assert.equal(shellValue(env, 'NOT_SET_ANYWHERE'), undefined)
})
