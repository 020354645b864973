import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clearSecrets, mask, redact, registerSecret } from './redact.ts'

test('registered secrets are masked wherever they appear, longest first, in escaped forms too', () => {
  clearSecrets()
  registerSecret('s3cr3t-value')
  registerSecret('s3cr3t-value-longer')
  registerSecret('a"b\\c$d e')
  registerSecret('short') // below the minimum length: not registered
  assert.equal(redact('token=s3cr3t-value-longer and s3cr3t-value'), 'token=•••• and ••••')
  assert.equal(redact(JSON.stringify({ v: 'a"b\\c$d e' })), '{"v":"••••"}')
  assert.equal(redact('url: a%22b%5Cc%24d%20e'), 'url: ••••')
  assert.equal(redact('short stays'), 'short stays')
  clearSecrets()
  assert.equal(redact('s3cr3t-value'), 's3cr3t-value')
})

test('mask shows no character of the value', () => {
  assert.equal(mask('abcdef123456'), '•••• (12 chars)')
  assert.equal(mask(''), '(empty)')
  assert.equal(mask(undefined), '(unset)')
})

test('a very long secret (1 MiB) is masked without building a regular expression V8 refuses', () => {
  clearSecrets()
  const huge = 'h'.repeat(1024 * 1024)
  registerSecret(huge)
  registerSecret('other-secret-1')
  assert.equal(redact(`value ${huge} and other-secret-1`), 'value •••• and ••••')
  clearSecrets()
})
