import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { loadEnvLayers } from './layers.ts'
import { clearSecrets, redact, registerSecrets } from '../core/redact.ts'
import { isNonSecretSetting, isSecretKey, NON_SECRET_SETTINGS, secretValues } from './secrecy.ts'

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'stackyard-secrecy-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, name), text)
  return root
}
const IDENTITY = 'INFISICAL_CLIENT_ID=cid-4d1e8a\nINFISICAL_CLIENT_SECRET=csec-5b0f2e7c\nINFISICAL_PROJECT_ID=proj-9a7b6c\n'
const declared = new Set(['INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'POSTGRES_PASSWORD'])

test('every value of .env and .env.infisical is secret unless its key is a declared non-secret setting; names do not matter', () => {
  const root = fixture({
    '.env.global': 'TZ=Etc/UTC\nPLAIN_DEFAULT=visible-default\n',
    '.env': `${IDENTITY}STACKYARD_BACKUP_PASSPHRASE="correct horse battery staple 42"\nINFISICAL_SECRET_PATH=/staging\nDOMAIN=example.org\nSTACKYARD_HOST_EDGE=proxy\nN8N_ACCESS_AUD=37a24d258004a5da\n`,
    '.env.infisical': 'SMTP_PASS="x-smtp-pass-4f2a9c"\nMAIL_LOGIN=relay-login-7e3d\nTZ=Europe/Paris\n',
  })
  const env = loadEnvLayers({ root, shell: {} })
  const secret = (key: string) => isSecretKey(key, env, declared)
  for (const key of ['STACKYARD_BACKUP_PASSPHRASE', 'SMTP_PASS', 'MAIL_LOGIN', 'INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET']) assert.ok(secret(key), `${key} is secret`)
  for (const key of ['INFISICAL_SECRET_PATH', 'DOMAIN', 'TZ', 'PLAIN_DEFAULT', 'INFISICAL_PROJECT_ID', 'STACKYARD_HOST_EDGE', 'N8N_ACCESS_AUD']) assert.ok(!secret(key), `${key} is not secret`)
  assert.ok(!isNonSecretSetting('STACKYARD_BACKUP_PASSPHRASE'), 'the passphrase is never a setting')
  assert.ok(!isNonSecretSetting('DOMAIN', new Set(['DOMAIN'])), 'x-secrets wins over the settings list')
})

test('every layer value of a secret key is registered, the shadowed ones too; settings and short values are not masked inside text', () => {
  const root = fixture({ '.env': 'SMTP_PASS=file-smtp-value-1\nINFISICAL_SECRET_PATH=/staging\nINFISICAL_ENVIRONMENT=staging\nSHORT_PIN=stag12\n' })
  const shell = { SMTP_PASS: 'shell-smtp-value-1', INFISICAL_ADMIN_PASSWORD: 'admin-pass-from-shell', HOME: '/home/someone' }
  const env = loadEnvLayers({ root, shell })
  const values = secretValues(env, declared)
  for (const v of ['file-smtp-value-1', 'shell-smtp-value-1', 'admin-pass-from-shell', 'stag12']) assert.ok(values.includes(v), v)
  for (const v of ['/staging', 'staging', '/home/someone']) assert.ok(!values.includes(v), v)
  assert.ok(!Object.keys(env).includes('layerValues'), 'the layer values stay out of JSON')
  clearSecrets()
  registerSecrets(values)
  assert.equal(redact('a=file-smtp-value-1 b=shell-smtp-value-1'), 'a=•••• b=••••')
  assert.equal(redact('in sync with Infisical (staging/staging)'), 'in sync with Infisical (staging/staging)')
  assert.equal(redact('pin stag12, path /stag123/x, word stag12x'), 'pin ••••, path /stag123/x, word stag12x')
  clearSecrets()
})

test('every setting .env.global documents is declared non-secret', () => {
  const text = readFileSync(resolve(import.meta.dirname, '..', '..', '.env.global'), 'utf8')
  const keys = [...text.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1])
  assert.ok(keys.length > 5)
  for (const key of keys) assert.ok(NON_SECRET_SETTINGS.has(key), `${key} is documented in .env.global but not declared non-secret in lib/env/secrecy.ts`)
})
