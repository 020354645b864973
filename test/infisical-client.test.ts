// lib/infisical/client.ts against the loopback fake Infisical, in both status-code conventions.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInfisicalClient, InfisicalApiError, normalizeBaseUrl, type InfisicalClientOptions } from '../lib/infisical/client.ts'
import { createTransport } from '../lib/core/http.ts'
import { clearSecrets, redact } from '../lib/core/redact.ts'
import { startFakeInfisical, type Convention, type FakeInfisical } from './fake-infisical.ts'

const CONVENTIONS: Convention[] = ['2024', 'upstream']

function clientFor(fake: FakeInfisical, extra: Partial<InfisicalClientOptions> = {}, sleeps: number[] = []) {
  const transport = createTransport({ sleep: async (ms) => void sleeps.push(ms), backoffMs: 1 })
  return createInfisicalClient({ baseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret, transport, ...extra })
}
const scopeOf = (fake: FakeInfisical, environment = 'dev', secretPath = '/') => ({ projectId: fake.projectId, environment, secretPath })

async function rejects(p: Promise<unknown>, kind: InfisicalApiError['kind'], pattern?: RegExp): Promise<InfisicalApiError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof InfisicalApiError, `expected InfisicalApiError, got ${String(err)}`)
    assert.equal(err.kind, kind, `kind of: ${err.message}`)
    if (pattern) assert.match(err.message, pattern)
    assert.ok(!/fake\.[0-9a-f]{24}|secret-1/.test(err.message + (err.hint ?? '')), 'no token or client secret in the error')
    return err
  }
  assert.fail(`expected a ${kind} error`)
}

test('base URL: a trailing /api or slash is dropped; a non-URL is refused', () => {
  assert.equal(normalizeBaseUrl('http://localhost:8020/api/'), 'http://localhost:8020')
  assert.equal(normalizeBaseUrl('https://infisical.example.com'), 'https://infisical.example.com')
  assert.throws(() => normalizeBaseUrl('localhost:8020'), InfisicalApiError)
})

for (const convention of CONVENTIONS) {
  test(`${convention}: login, batch create/update/delete and list; content-type only with a body; DELETE carries JSON`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    const scope = scopeOf(fake)
    assert.deepEqual(await c.listSecrets(scope), [])
    await c.createSecrets(scope, [{ key: 'A', value: ' padded ' }, { key: 'B', value: 'b' }])
    await c.updateSecrets(scope, [{ key: 'B', value: 'b2' }])
    await c.deleteSecrets(scope, ['A'])
    assert.deepEqual(fake.secrets(), { B: 'b2' })
    const listed = await c.listSecrets(scope)
    assert.equal(listed[0].version, 2)
    const logins = fake.server.requests.filter((r) => r.path.endsWith('/login'))
    assert.equal(logins.length, 1, 'one login for the whole session')
    for (const r of fake.server.requests) {
      if (r.rawBody) assert.equal(r.headers['content-type'], 'application/json')
      else assert.equal(r.headers['content-type'], undefined, `${r.method} ${r.path} without a body has no content-type`)
    }
    const del = fake.server.requests.find((r) => r.method === 'DELETE')!
    assert.deepEqual(del.body, { workspaceId: fake.projectId, environment: 'dev', secretPath: '/', secrets: [{ secretKey: 'A', type: 'shared' }] })
  })

  test(`${convention}: every value listed from Infisical is registered for masking, whatever its key's name; declared settings are not`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    const scope = scopeOf(fake)
    await c.createSecrets(scope, [{ key: 'SMTP_PASS', value: 'x-smtp-from-api-77' }, { key: 'MAIL_LOGIN', value: 'relay-login-api-5' }, { key: 'DOMAIN', value: 'example.org' }])
    clearSecrets()
    await c.listSecrets(scope)
    assert.equal(redact('x-smtp-from-api-77 relay-login-api-5 example.org'), '•••• •••• example.org')
    clearSecrets()
  })

  test(`${convention}: bad credentials → one sentence about the credentials`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const err = await rejects(clientFor(fake, { clientSecret: 'wrong' }).listSecrets(scopeOf(fake)), 'credentials', /refused the machine identity credentials/)
    assert.equal(err.status, convention === '2024' ? 403 : 401)
    assert.match(err.hint ?? '', /INFISICAL_CLIENT_SECRET/)
  })

  test(`${convention}: unknown project → one sentence naming it`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    await rejects(clientFor(fake).listSecrets({ projectId: 'missing-project', environment: 'dev', secretPath: '/' }), 'project', /project missing-project does not exist/)
  })

  test(`${convention}: identity without membership → access error naming the project`, async (t) => {
    const fake = await startFakeInfisical({ convention, bootstrap: true, initialized: false })
    t.after(() => fake.close())
    const anon = clientFor(fake)
    const admin = await anon.bootstrap({ email: 'a@example.com', password: 'a-long-password!', organization: 'Org' })
    const ac = createInfisicalClient({ baseUrl: fake.url, accessToken: admin.token })
    const project = await ac.createProject('second')
    const err = await rejects(clientFor(fake).listSecrets({ projectId: project.id, environment: 'dev', secretPath: '/' }), 'access', new RegExp(`no permission for project ${project.id}`))
    assert.equal(err.status, convention === '2024' ? 401 : 403)
    assert.equal(fake.count((r) => r.path.endsWith('/login')), 2, 'an auth-family failure triggers one re-login, then gives up')
  })

  test(`${convention}: unknown environment → one sentence, on reads and writes`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    await rejects(c.listSecrets(scopeOf(fake, 'nope')), 'environment', /environment "nope" does not exist/)
    await rejects(c.createSecrets(scopeOf(fake, 'nope'), [{ key: 'A', value: '1' }]), 'environment', /environment "nope" does not exist/)
  })

  test(`${convention}: expired and revoked tokens → re-login once, then the request succeeds`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    await c.listSecrets(scopeOf(fake))
    fake.expireTokens()
    await c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }])
    fake.revokeTokens()
    await c.listSecrets(scopeOf(fake))
    assert.equal(fake.count((r) => r.path.endsWith('/login')), 3)
    assert.deepEqual(fake.secrets(), { A: '1' })
  })

  test(`${convention}: a rejected token that the server answers with 500 (2024) or TokenError (upstream) → re-login`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    await c.listSecrets(scopeOf(fake))
    fake.server.inject((r) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw', convention === '2024' ? { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'jwt malformed' } } : { status: 403, body: { statusCode: 403, error: 'TokenError', message: 'Invalid token' } })
    await c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }])
    assert.deepEqual(fake.secrets(), { A: '1' })
    assert.equal(fake.count((r) => r.path.endsWith('/login')), 2)
  })

  test(`${convention}: a validation failure is reported as a client bug with the issues`, async (t) => {
    const fake = await startFakeInfisical({ convention })
    t.after(() => fake.close())
    const c = clientFor(fake)
    await c.listSecrets(scopeOf(fake))
    fake.server.inject((r) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw', { status: convention === '2024' ? 403 : 422, body: { statusCode: 403, error: 'ValidationFailure', message: [{ path: ['secrets'], message: 'Required' }] } })
    await rejects(c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }]), 'validation', /rejected the request .* as invalid .*Required/)
  })
}

test('the token is renewed by a fresh login at 80 % of expiresIn, not before', async (t) => {
  const fake = await startFakeInfisical({ tokenTtl: 100 })
  t.after(() => fake.close())
  let clock = 1_000_000
  const c = clientFor(fake, { now: () => clock })
  await c.listSecrets(scopeOf(fake))
  clock += 79_000
  await c.listSecrets(scopeOf(fake))
  assert.equal(fake.count((r) => r.path.endsWith('/login')), 1)
  clock += 2_000
  await c.listSecrets(scopeOf(fake))
  assert.equal(fake.count((r) => r.path.endsWith('/login')), 2)
})

test('batches are chunked at 100 keys: 250 creates are 3 requests, never one per key', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const c = clientFor(fake)
  const items = Array.from({ length: 250 }, (_, i) => ({ key: `K${i}`, value: String(i) }))
  const r = await c.createSecrets(scopeOf(fake), items)
  assert.equal(r.requests, 3)
  assert.equal(Object.keys(fake.secrets()).length, 250)
})

test('429 storm: retried after retry-after on every method, batch POST included', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const sleeps: number[] = []
  const c = clientFor(fake, {}, sleeps)
  fake.server.inject((r) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw', { status: 429, headers: { 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Rate limit exceeded, retry in 1 minute' } }, 3)
  await c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }])
  assert.deepEqual(fake.secrets(), { A: '1' }, 'a POST rejected by the limiter is retried (nothing was applied)')
  assert.ok(sleeps.filter((ms) => ms >= 2000).length >= 3, `waited retry-after each time: ${sleeps.join(',')}`)
})

test('a per-minute limit like a 2024 build: the client pauses when x-ratelimit-remaining reaches 0 and finishes', async (t) => {
  const fake = await startFakeInfisical({ rateLimit: 3, windowMs: 1_000 })
  t.after(() => fake.close())
  const sleeps: number[] = []
  const transport = createTransport({ sleep: (ms) => (sleeps.push(ms), new Promise((r) => setTimeout(r, ms))) })
  const c = createInfisicalClient({ baseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret, transport })
  fake.seed({ A: '1' })
  for (let i = 0; i < 7; i++) assert.deepEqual(await c.listSecrets(scopeOf(fake)), [{ key: 'A', value: '1', version: 1, updatedAt: fake.records()[0].updatedAt }])
  assert.ok(sleeps.length >= 2, `paused for the window resets: ${sleeps.join(',')}`)
  const limited = fake.server.requests.filter((r) => r.path === '/api/v3/secrets/raw').length
  assert.ok(limited <= 7 + 2, `few or no 429s were provoked (${limited} list requests for 7 lists)`)
})

test('429 until the retries run out → a rate-limited sentence naming the 40/minute limit', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const c = clientFor(fake)
  fake.server.inject((r) => r.path === '/api/v3/secrets/raw', { status: 429, headers: { 'retry-after': '1' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Rate limit exceeded' } }, 10)
  await rejects(c.listSecrets(scopeOf(fake)), 'rate-limited', /keeps rate-limiting/)
})

test('approval policies: writes come back pending, not done', async (t) => {
  const fake = await startFakeInfisical({ approval: true })
  t.after(() => fake.close())
  const r = await clientFor(fake).createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }])
  assert.equal(r.pending, true)
  assert.deepEqual(fake.secrets(), {})
})

test('unreachable server and an HTML page instead of JSON → one sentence each', async (t) => {
  const closed = await startFakeInfisical()
  const url = closed.url
  await closed.close()
  await rejects(createInfisicalClient({ baseUrl: url, clientId: 'x', clientSecret: 'y', transport: createTransport({ sleep: async () => {} }) }).status(), 'unreachable', /Infisical is unreachable at http:\/\/127\.0\.0\.1/)
  const html = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<html><body>Sign in</body></html>')
  })
  await new Promise<void>((r) => html.listen(0, '127.0.0.1', r))
  t.after(() => html.close())
  const base = `http://127.0.0.1:${(html.address() as AddressInfo).port}`
  const err = await rejects(createInfisicalClient({ baseUrl: base, clientId: 'x', clientSecret: 'y' }).listSecrets({ projectId: 'p', environment: 'dev', secretPath: '/' }), 'not-api', /instead of JSON/)
  assert.ok(!err.message.includes('<html>'), 'no raw HTML in the message')
})

test('a dropped connection on a batch write is not retried (not idempotent) and reads as unreachable', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const c = clientFor(fake)
  await c.listSecrets(scopeOf(fake))
  fake.server.inject((r) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw', { drop: true })
  await rejects(c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }]), 'unreachable')
  assert.equal(fake.count((r) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw'), 1)
})

test('bootstrap probe: present upstream (empty body rejected, nothing created), absent on a 2024 build (HTML 404)', async (t) => {
  const up = await startFakeInfisical({ convention: 'upstream', initialized: false, seedIdentity: false })
  const old = await startFakeInfisical({ convention: '2024', initialized: false, seedIdentity: false })
  t.after(() => Promise.all([up.close(), old.close()]))
  assert.equal(await createInfisicalClient({ baseUrl: up.url }).hasBootstrap(), true)
  assert.equal(up.initialized, false)
  assert.equal(await createInfisicalClient({ baseUrl: old.url }).hasBootstrap(), false)
  assert.deepEqual(await createInfisicalClient({ baseUrl: old.url }).adminConfig(), { initialized: false })
})

test('dry-run: writes are described, not sent; logins and reads still happen', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const skipped: string[] = []
  const c = clientFor(fake, { dryRun: { skipped: (w) => void skipped.push(w) } })
  await c.listSecrets(scopeOf(fake))
  const r = await c.createSecrets(scopeOf(fake), [{ key: 'A', value: 'super-secret-value' }])
  assert.equal(r.skipped, true)
  assert.deepEqual(fake.writes(), [])
  assert.equal(skipped.length, 1)
  assert.match(skipped[0], /POST \/api\/v3\/secrets\/batch\/raw \(create 1: A\)/)
  assert.ok(!skipped[0].includes('super-secret-value'))
})

test('a token that lapses during a 429 wait is renewed before the retry: no request is sent with it (issue 14 #22)', async (t) => {
  const fake = await startFakeInfisical({ tokenTtl: 70 })
  t.after(() => fake.close())
  let clock = 1_000_000
  const transport = createTransport({ sleep: async (ms) => {
    clock += ms
    if (ms >= 60_000) fake.expireTokens()
  }, backoffMs: 1 })
  const c = createInfisicalClient({ baseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret, transport, now: () => clock })
  await c.listSecrets(scopeOf(fake))
  const list = (r: { path: string }) => r.path === '/api/v3/secrets/raw'
  const before = fake.count(list)
  fake.server.inject(list, { status: 429, headers: { 'retry-after': '60' }, body: { statusCode: 429, error: 'Too Many Requests', message: 'Rate limit exceeded, retry in 1 minute' } })
  await c.listSecrets(scopeOf(fake))
  assert.equal(fake.count(list) - before, 2, 'the 429, then one request with a fresh token')
  assert.equal(fake.count((r) => r.path.endsWith('/login')), 2)
})

test('2024: an expired JWT answers 500; a read is not retried with it (once to the re-login, not four times)', async (t) => {
  const fake = await startFakeInfisical({ convention: '2024' })
  t.after(() => fake.close())
  const c = clientFor(fake)
  await c.listSecrets(scopeOf(fake))
  const list = (r: { path: string }) => r.path === '/api/v3/secrets/raw'
  const before = fake.count(list)
  fake.expireTokens()
  await c.listSecrets(scopeOf(fake))
  assert.equal(fake.count(list) - before, 2, 'the 500, then the retry after logging in')
  assert.equal(fake.count((r) => r.path.endsWith('/login')), 2)
})

test('batches are cut by encoded size too: twenty 64 KiB values stay under the 1 MiB body limit (issue 14 #18)', async (t) => {
  const fake = await startFakeInfisical()
  t.after(() => fake.close())
  const c = clientFor(fake)
  const items = Array.from({ length: 20 }, (_, i) => ({ key: `BIG_${i}`, value: String.fromCharCode(97 + i).repeat(64 * 1024) }))
  const r = await c.createSecrets(scopeOf(fake), items)
  assert.equal(r.requests, 2)
  const bodies = fake.server.requests.filter((q) => q.method === 'POST' && q.path === '/api/v3/secrets/batch/raw').map((q) => Buffer.byteLength(q.rawBody))
  assert.ok(bodies.every((n) => n <= 1024 * 1024), `bodies: ${bodies.join(', ')}`)
  assert.equal(Object.keys(fake.secrets()).length, 20)
  // one value too big for any body: named with the limit, nothing sent
  const sent = fake.writes().length
  await rejects(c.updateSecrets(scopeOf(fake), [{ key: 'BIG_0', value: 'x' }, { key: 'HUGE', value: 'y'.repeat(1024 * 1024) }]), 'too-large', /HUGE: its value is too large for one request: Infisical accepts request bodies of at most 1048576 bytes \(1 MiB\); nothing was sent/)
  assert.equal(fake.writes().length, sent)
  assert.deepEqual(c.oversized(scopeOf(fake), [{ key: 'A', value: 'a' }, { key: 'HUGE', value: 'y'.repeat(1024 * 1024) }]), ['HUGE'])
  // the server's own 413 (a body over its limit) names the limit too
  const raw = await createTransport().send('POST', `${fake.url}/api/v3/secrets/batch/raw`, { body: { secrets: [{ secretKey: 'X', secretValue: 'z'.repeat(1024 * 1024) }] } })
  assert.equal(raw.status, 413, 'the fake refuses bodies over 1 MiB as the server does')
})

test('the fake limits each route separately, as a 2024 build does: the list and each batch verb have their own 40', async (t) => {
  const fake = await startFakeInfisical({ rateLimit: 2, windowMs: 60_000 })
  t.after(() => fake.close())
  const c = clientFor(fake)
  await c.listSecrets(scopeOf(fake))
  await c.createSecrets(scopeOf(fake), [{ key: 'A', value: '1' }])
  await c.updateSecrets(scopeOf(fake), [{ key: 'A', value: '2' }])
  await c.listSecrets(scopeOf(fake))
  assert.deepEqual(fake.secrets(), { A: '2' })
  assert.equal(fake.server.requests.filter((r) => r.path.startsWith('/api/v3')).length, 4, 'no 429: four requests on three routes stay within 2 per route')
})
