import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadRegistry } from '../model/registry.ts'
import { repoRoot } from '../core/paths.ts'
import { ConfigError } from '../core/errors.ts'
import { configValues, normalizeSecretPath, readInfisicalConfig, requireConnection, syncSelection } from './config.ts'

test('selection: declared secrets are pushed; the Infisical credentials and the instance start-up keys stay local', () => {
  const reg = loadRegistry(repoRoot)
  const sel = syncSelection(reg, { include: [], exclude: [] })
  assert.ok(sel.push.has('CLOUDFLARE_API_TOKEN'))
  assert.ok(sel.push.has('CLOUDFLARE_TUNNEL_TOKEN'))
  for (const k of ['INFISICAL_CLIENT_ID', 'INFISICAL_CLIENT_SECRET', 'INFISICAL_ENCRYPTION_KEY', 'INFISICAL_AUTH_SECRET', 'INFISICAL_POSTGRES_PASSWORD']) {
    assert.ok(!sel.push.has(k), `${k} must not be pushed by default`)
    assert.ok(!sel.pulls(k), `${k} must not be pulled by default`)
  }
  assert.equal(sel.local.get('INFISICAL_CLIENT_SECRET'), 'connects to Infisical itself')
  assert.equal(sel.local.get('INFISICAL_ENCRYPTION_KEY'), 'needed to start the bundled Infisical')
  assert.ok(sel.pulls('OPENAI_API_KEY'), 'an undeclared remote key is pulled')
})

test('selection: INFISICAL_SYNC_INCLUDE adds keys (even local ones), INFISICAL_SYNC_EXCLUDE removes them both ways', () => {
  const reg = loadRegistry(repoRoot)
  const sel = syncSelection(reg, { include: ['OPENAI_API_KEY', 'INFISICAL_AUTH_SECRET'], exclude: ['CLOUDFLARE_API_TOKEN'] })
  assert.ok(sel.push.has('OPENAI_API_KEY'))
  assert.ok(sel.push.has('INFISICAL_AUTH_SECRET'))
  assert.ok(!sel.push.has('CLOUDFLARE_API_TOKEN'))
  assert.ok(!sel.pulls('CLOUDFLARE_API_TOKEN'))
})

test('config: defaults, validation naming the variable, and every missing connection variable at once', () => {
  const c = readInfisicalConfig({ INFISICAL_SITE_URL: 'http://localhost:8020' })
  assert.equal(c.environment, 'dev')
  assert.equal(c.secretPath, '/')
  assert.equal(c.url, 'http://localhost:8020')
  assert.equal(c.urlSource, 'INFISICAL_SITE_URL')
  assert.equal(readInfisicalConfig({ INFISICAL_SITE_URL: 'http://a', INFISICAL_API_URL: 'http://b' }).url, 'http://b')
  assert.throws(() => readInfisicalConfig({ INFISICAL_ENVIRONMENT: 'no spaces' }), (e: Error) => e instanceof ConfigError && /INFISICAL_ENVIRONMENT/.test(e.message))
  assert.throws(() => readInfisicalConfig({ INFISICAL_SYNC_INCLUDE: 'GOOD, *_TOKEN' }), (e: Error) => e instanceof ConfigError && /INFISICAL_SYNC_INCLUDE: "\*_TOKEN"/.test(e.message))
  assert.throws(
    () => requireConnection(readInfisicalConfig({ INFISICAL_SITE_URL: 'http://x' })),
    (e: Error) => e instanceof ConfigError && /INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID are not set/.test(e.message),
  )
})

test('secret paths are normalised; bad ones are refused', () => {
  assert.equal(normalizeSecretPath('/'), '/')
  assert.equal(normalizeSecretPath('/apps/web/'), '/apps/web')
  assert.equal(normalizeSecretPath(''), '/')
  assert.throws(() => normalizeSecretPath('apps'), ConfigError)
  assert.throws(() => normalizeSecretPath('/a/../b'), ConfigError)
})

test('configValues adds the integration variables set only in the shell', () => {
  const v = configValues({ values: { A: '1' }, lookup: (n) => (n === 'INFISICAL_API_URL' ? 'http://shell' : undefined) })
  assert.equal(v.INFISICAL_API_URL, 'http://shell')
  assert.equal(v.A, '1')
})

test('an instance address that is not an http(s) URL is a ConfigError naming the variable it came from', () => {
  assert.throws(() => readInfisicalConfig({ INFISICAL_API_URL: 'ftp://x' }), (e: unknown) => e instanceof ConfigError && e.field === 'INFISICAL_API_URL' && e.message === 'INFISICAL_API_URL: "ftp://x" is not an http(s) URL')
  assert.throws(() => readInfisicalConfig({ INFISICAL_SITE_URL: 'localhost:8020' }), (e: unknown) => e instanceof ConfigError && e.field === 'INFISICAL_SITE_URL')
  assert.throws(() => readInfisicalConfig({ INFISICAL_API_URL: 'not a url', INFISICAL_SITE_URL: 'http://ok' }), /INFISICAL_API_URL: "not a url" is not an http\(s\) URL/)
  assert.equal(readInfisicalConfig({ INFISICAL_API_URL: ' https://infisical.example.com/api ' }).url, 'https://infisical.example.com/api')
})
