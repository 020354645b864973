// The fake Infisical itself follows the reference: raw HTTP against it, no client in between.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { startFakeInfisical, trimLikeInfisical, type FakeInfisical } from './fake-infisical.ts'

async function call(fake: FakeInfisical, method: string, path: string, body?: unknown, token?: string) {
  const res = await request(fake.url + path, {
    method: method as 'GET',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.statusCode, headers: res.headers, json: json as Record<string, unknown>, text }
}
async function login(fake: FakeInfisical) {
  const r = await call(fake, 'POST', '/api/v1/auth/universal-auth/login', { clientId: fake.clientId, clientSecret: fake.clientSecret })
  return String(r.json.accessToken)
}
const scope = (fake: FakeInfisical) => ({ workspaceId: fake.projectId, environment: 'dev', secretPath: '/' })

test('trimming as the server does it', () => {
  assert.equal(trimLikeInfisical('  a  '), 'a')
  assert.equal(trimLikeInfisical(' a \n\n'), 'a\n')
})

test('batch create is all-or-nothing with the 2024 messages; update lists the keys that were found', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const token = await login(fake)
  fake.seed({ EXISTS: 'x' })
  const dup = await call(fake, 'POST', '/api/v3/secrets/batch/raw', { ...scope(fake), secrets: [{ secretKey: 'NEW', secretValue: '1' }, { secretKey: 'EXISTS', secretValue: '2' }] }, token)
  assert.deepEqual([dup.status, dup.json.message], [400, 'Secret already exist: EXISTS'])
  assert.deepEqual(fake.secrets(), { EXISTS: 'x' }, 'nothing of the failed batch was applied')
  const upd = await call(fake, 'PATCH', '/api/v3/secrets/batch/raw', { ...scope(fake), mode: 'upsert', secrets: [{ secretKey: 'EXISTS', secretValue: ' y ' }, { secretKey: 'MISSING', secretValue: '2' }] }, token)
  assert.deepEqual([upd.status, upd.json.message], [400, 'Secret not exist: EXISTS'])
  const ok = await call(fake, 'PATCH', '/api/v3/secrets/batch/raw', { ...scope(fake), secrets: [{ secretKey: 'EXISTS', secretValue: ' y ' }] }, token)
  assert.equal(ok.status, 200)
  assert.deepEqual(fake.secrets(), { EXISTS: 'y' })
  assert.equal(fake.records()[0].version, 2)
})

test('status-code conventions: 2024 swaps 401/403 and uses 403 for validation; upstream is conventional', async (t) => {
  for (const [convention, creds, validation] of [['2024', 403, 403], ['upstream', 401, 422]] as const) {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const bad = await call(fake, 'POST', '/api/v1/auth/universal-auth/login', { clientId: 'client-1', clientSecret: 'nope' })
    assert.equal(bad.status, creds)
    const token = await login(fake)
    const invalid = await call(fake, 'POST', '/api/v3/secrets/batch/raw', { ...scope(fake), secrets: [] }, token)
    assert.deepEqual([invalid.status, invalid.json.error], [validation, 'ValidationFailure'])
    const v4 = await call(fake, 'GET', '/api/v4/secrets')
    if (convention === '2024') assert.ok(v4.json === undefined && /<html>/.test(v4.text), 'unknown paths fall through to an HTML page')
    else assert.equal(v4.status, 404)
  }
})

test('429 with the rate-limit headers after the per-window limit', async (t) => {
  const fake = await startFakeInfisical({ rateLimit: 2 })
  t.after(() => fake.close())
  const token = await login(fake)
  const q = `/api/v3/secrets/raw?workspaceId=${fake.projectId}&environment=dev&secretPath=/`
  const first = await call(fake, 'GET', q, undefined, token)
  assert.equal(first.headers['x-ratelimit-remaining'], '1')
  await call(fake, 'GET', q, undefined, token)
  const limited = await call(fake, 'GET', q, undefined, token)
  assert.equal(limited.status, 429)
  assert.equal(limited.headers['x-ratelimit-remaining'], '0')
  assert.ok(Number(limited.headers['retry-after']) > 0)
  assert.equal(limited.json.message, 'Rate limit exceeded, retry in 1 minute')
})

test('references expand only when asked; unresolved ones become empty (the 2024 behaviour)', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  fake.addFolder('/sub')
  fake.seed({ INNER: 'deep' }, 'dev', '/sub')
  fake.seed({ A: 'a', B: '${A}-${dev.sub.INNER}-${NOPE}' })
  const token = await login(fake)
  const raw = await call(fake, 'GET', `/api/v3/secrets/raw?workspaceId=${fake.projectId}&environment=dev&secretPath=/`, undefined, token)
  const exp = await call(fake, 'GET', `/api/v3/secrets/raw?workspaceId=${fake.projectId}&environment=dev&secretPath=/&expandSecretReferences=true`, undefined, token)
  const value = (r: typeof raw) => (r.json.secrets as Array<{ secretKey: string; secretValue: string }>).find((s) => s.secretKey === 'B')!.secretValue
  assert.equal(value(raw), '${A}-${dev.sub.INNER}-${NOPE}')
  assert.equal(value(exp), 'a-deep-')
})

test('bootstrap exists only where configured, succeeds once, and its token creates projects', async (t) => {
  const fake = await startFakeInfisical({ convention: 'upstream', seedIdentity: false, initialized: false })
  t.after(() => fake.close())
  const b = await call(fake, 'POST', '/api/v1/admin/bootstrap', { email: 'a@b.c', password: 'x'.repeat(14), organization: 'O' })
  assert.equal(b.status, 200)
  const again = await call(fake, 'POST', '/api/v1/admin/bootstrap', { email: 'a@b.c', password: 'x'.repeat(14), organization: 'O' })
  assert.equal(again.status, 400)
  const token = String((b.json.identity as { credentials: { token: string } }).credentials.token)
  const p = await call(fake, 'POST', '/api/v2/workspace', { projectName: 'p' }, token)
  assert.deepEqual((p.json.project as { environments: Array<{ slug: string }> }).environments.map((e) => e.slug), ['dev', 'staging', 'prod'])
})
