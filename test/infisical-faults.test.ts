// Faults through the task files: a 500 or a dropped connection mid-apply, 429 storms, bad credentials in both
// conventions, expired tokens. Local files stay untouched, the exit code is non-zero, and a re-run converges.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { infisicalRepo } from './infisical-helpers.ts'

const many = (n: number) => Array.from({ length: n }, (_, i) => `K${String(i).padStart(3, '0')}=value-${i}`)
const includeMany = (n: number) => `INFISICAL_SYNC_INCLUDE=${Array.from({ length: n }, (_, i) => `K${String(i).padStart(3, '0')}`).join(',')}`
const isBatchCreate = (r: { method: string; path: string }) => r.method === 'POST' && r.path === '/api/v3/secrets/batch/raw'

for (const fault of ['500', 'drop'] as const) {
  test(`${fault === '500' ? 'a 500' : 'a dropped connection'} on the second batch leaves local files untouched, exits 1, and a re-run converges`, async (t) => {
    const r = await infisicalRepo({ envLines: [includeMany(150), ...many(150)] })
    t.after(() => r.cleanup())
    const envBefore = r.repo.read('.env')
    let batches = 0
    r.fake.server.inject(
      (req) => isBatchCreate(req) && ++batches >= 2,
      fault === '500' ? { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'Something went wrong' } } : { drop: true },
      fault === '500' ? 2 : 1, // a 500 is retried once after a re-login, so it has to happen twice
    )
    const failed = await r.run('push')
    assert.equal(failed.code, 1, failed.stderr)
    assert.match(failed.stderr, fault === '500' ? /Infisical failed on POST \/api\/v3\/secrets\/batch\/raw \(HTTP 500\)/ : /Infisical is unreachable/)
    assert.ok(!/at .*\.ts:\d+/.test(failed.stderr), 'no stack trace')
    assert.equal(r.repo.read('.env'), envBefore, '.env untouched')
    assert.equal(r.mode('.env'), 0o600)
    assert.ok(!r.repo.exists('.stackyard/infisical-sync.json'), 'no sync state from a failed push')
    assert.equal(Object.keys(r.fake.secrets()).length, 100, 'the first batch was applied whole, the second not at all')

    const rerun = await r.run('push', ['--json'])
    assert.equal(rerun.code, 0, rerun.stderr)
    assert.deepEqual(JSON.parse(rerun.stdout).counts, { create: 50, update: 0, delete: 0, unchanged: 100, onlyInInfisical: 0, kept: 0 })
    assert.equal(Object.keys(r.fake.secrets()).length, 150)
    const writes = r.fake.writes().length
    assert.equal((await r.run('push')).code, 0)
    assert.equal(r.fake.writes().length, writes, 'converged: nothing left to write')
  })
}

test('a 429 storm with a 2024-like per-window limit: push still completes, in batches', async (t) => {
  const r = await infisicalRepo({ rateLimit: 2, windowMs: 1_000, envLines: [includeMany(30), ...many(30)] })
  t.after(() => r.cleanup())
  r.fake.seed({ K000: 'old', K001: 'old' })
  const p = await r.run('push')
  assert.equal(p.code, 0, p.stderr)
  assert.equal(Object.keys(r.fake.secrets()).length, 30)
  assert.equal(r.fake.writes().length, 2, 'one batch create and one batch update')
})

for (const convention of ['2024', 'upstream'] as const) {
  test(`${convention}: wrong client secret → exit 1 with one sentence about the credentials, local files untouched`, async (t) => {
    const r = await infisicalRepo({ convention, envLines: ['CLOUDFLARE_API_TOKEN=x'] })
    t.after(() => r.cleanup())
    const env = r.repo.read('.env').replace(`INFISICAL_CLIENT_SECRET=${r.fake.clientSecret}`, 'INFISICAL_CLIENT_SECRET=not-the-secret')
    r.repo.write('.env', env, 0o600)
    for (const task of ['push', 'status', 'pull'] as const) {
      const out = await r.run(task)
      assert.equal(out.code, 1, `${task}: ${out.stderr}`)
      assert.match(out.stderr, /Infisical refused the machine identity credentials \(HTTP (403|401)/)
      assert.match(out.stderr, /hint: check INFISICAL_CLIENT_ID \/ INFISICAL_CLIENT_SECRET/)
      assert.ok(!out.stderr.includes('not-the-secret'), 'the secret is not echoed')
    }
    assert.equal(r.repo.read('.env'), env)
    assert.ok(!r.repo.exists('.env.infisical'))
  })

  test(`${convention}: unknown environment → exit 1 naming it`, async (t) => {
    const r = await infisicalRepo({ convention, envLines: ['INFISICAL_ENVIRONMENT=nope', 'CLOUDFLARE_API_TOKEN=x'] })
    t.after(() => r.cleanup())
    const s = await r.run('status')
    assert.equal(s.code, 1)
    assert.match(s.stderr, /environment "nope" does not exist in project proj-1/)
  })
}

test('missing configuration → exit 2 listing every missing variable', async (t) => {
  const r = await infisicalRepo({ credentials: false })
  t.after(() => r.cleanup())
  const s = await r.run('status')
  assert.equal(s.code, 2)
  assert.match(s.stderr, /INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID are not set/)
})

test('a folder path below the root is created on the first push (a 2024 server lists it as empty)', async (t) => {
  const r = await infisicalRepo({ envLines: ['INFISICAL_SECRET_PATH=/stackyard/prod', 'CLOUDFLARE_API_TOKEN=x'] })
  t.after(() => r.cleanup())
  const p = await r.run('push')
  assert.equal(p.code, 0, p.stderr)
  assert.deepEqual(r.fake.secrets('dev', '/stackyard/prod'), { CLOUDFLARE_API_TOKEN: 'x' })
  assert.equal((await r.run('status')).code, 0)
})
