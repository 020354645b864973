// Export (what `up` uses, in-process through prepareSecretLayer and through the task), bootstrap both ways, and reset
// with the fake docker.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { loadEnvLayers } from '../lib/env/layers.ts'
import { prepareSecretLayer } from '../lib/infisical/secret-provider.ts'
import { infisicalRepo } from './infisical-helpers.ts'


/** `bootstrap --json` prints the machine identity's client ID (x-secrets declares it) by design: the leak scan allows that key. */
const JSON_PRINTS_CLIENT_ID = ['INFISICAL_CLIENT_ID']

test('prepareSecretLayer: exports (references expanded), keeps the last good export when Infisical is down, else .env alone; never silent', async (t) => {
  const r = await infisicalRepo()
  t.after(() => r.cleanup())
  r.fake.seed({ DB_PASSWORD: 'p@ss"word', URL: 'postgres://u:${DB_PASSWORD}@db/x', BROKEN: '${MISSING}', INFISICAL_CLIENT_SECRET: 'must-not-override', 'bad-name': 'x' })
  const layer = async (skip = false) => prepareSecretLayer({ root: r.repo.root, env: loadEnvLayers({ root: r.repo.root, shell: { INFISICAL_API_URL: r.fake.url } }), skip, dryRun: false })

  const ok = await layer()
  assert.equal(ok.file, '.env.infisical')
  assert.equal(ok.level, 'warn', 'warnings (unresolved reference, skipped names) make it a warning')
  assert.match(ok.note, /3 secret\(s\) from Infisical \(dev\) written to \.env\.infisical/)
  assert.match(ok.note, /expanded to an empty value \(unresolved\?\): BROKEN/)
  assert.match(ok.note, /not variable names: bad-name/)
  const exported = parseDotenv(r.repo.read('.env.infisical'))
  assert.deepEqual(exported, { BROKEN: '', DB_PASSWORD: 'p@ss"word', URL: 'postgres://u:p@ss"word@db/x' })
  assert.equal(r.mode('.env.infisical'), 0o600)
  assert.equal(r.fake.count((q) => q.path === '/api/v3/secrets/raw'), 2, 'raw list, then the expanded one because references exist')

  await r.fake.close()
  const kept = await layer()
  assert.equal(kept.file, '.env.infisical')
  assert.equal(kept.level, 'warn')
  assert.match(kept.note, /Infisical could not be used \(Infisical is unreachable at .*\): using the last good \.env\.infisical, exported 20/)

  const { rmSync } = await import('node:fs')
  rmSync(`${r.repo.root}/.env.infisical`)
  const alone = await layer()
  assert.equal(alone.file, null)
  assert.match(alone.note, /and there is no earlier export: using \.env alone/)

  const skipped = await layer(true)
  assert.equal(skipped.file, null)
  assert.equal(skipped.level, 'warn')
  assert.match(skipped.note, /--skip-infisical: using \.env alone/)
})

test('prepareSecretLayer without Infisical configured says so (info) and uses .env', async (t) => {
  const r = await infisicalRepo({ credentials: false })
  t.after(() => r.cleanup())
  const l = await prepareSecretLayer({ root: r.repo.root, env: loadEnvLayers({ root: r.repo.root, shell: {} }), skip: false, dryRun: false })
  assert.deepEqual([l.file, l.level], [null, 'info'])
  assert.match(l.note, /Infisical is not configured/)
})

test('export task: writes .env.infisical; --dry-run writes nothing; a failed export exits 1 and says which fallback', async (t) => {
  const r = await infisicalRepo()
  t.after(() => r.cleanup())
  r.fake.seed({ A: '1' })
  const dry = await r.run('export', ['--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stderr, /would write \.env\.infisical with 1 secret/)
  assert.ok(!r.repo.exists('.env.infisical'))
  const ok = await r.run('export', ['--json'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.deepEqual(JSON.parse(ok.stdout).keys, ['A'])
  const down = await r.run('export', [], { env: { INFISICAL_API_URL: 'http://127.0.0.1:9' } })
  assert.equal(down.code, 1)
  assert.match(down.stderr, /using the last good \.env\.infisical/)
})

test('bootstrap on a server with the bootstrap API: admin, project, identity, universal auth, secret, membership → .env; a re-run changes nothing', async (t) => {
  const r = await infisicalRepo({ convention: 'upstream', seedIdentity: false, initialized: false, credentials: false })
  t.after(() => r.cleanup())
  const missing = await r.run('bootstrap')
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /bootstrap needs --email and the admin password/)
  const b = await r.run('bootstrap', ['--email', 'admin@example.com', '--password-stdin', '--json'], { input: 'a-very-long-admin-password\n', allowSecrets: JSON_PRINTS_CLIENT_ID })
  assert.equal(b.code, 0, b.stderr)
  const j = JSON.parse(b.stdout)
  assert.equal(j.mode, 'bootstrapped')
  assert.ok(!b.stdout.includes('a-very-long-admin-password') && !b.stderr.includes('a-very-long-admin-password'))
  const env = parseDotenv(r.repo.read('.env'))
  const [identity] = r.fake.identities()
  assert.equal(env.INFISICAL_CLIENT_ID, identity.clientId)
  assert.deepEqual(identity.projects, [env.INFISICAL_PROJECT_ID])
  assert.ok(env.INFISICAL_CLIENT_SECRET.length > 20)
  assert.ok(!b.stdout.includes(env.INFISICAL_CLIENT_SECRET), 'the client secret is not printed')
  assert.equal(r.mode('.env'), 0o600)
  const again = await r.run('bootstrap', ['--json'], { allowSecrets: JSON_PRINTS_CLIENT_ID })
  assert.equal(again.code, 0, again.stderr)
  assert.equal(JSON.parse(again.stdout).mode, 'already-configured')
  assert.equal(r.fake.identities().length, 1)
  // and the stored identity works for a push
  r.repo.write('.env', r.repo.read('.env') + 'CLOUDFLARE_API_TOKEN=abc\n', 0o600)
  assert.equal((await r.run('push')).code, 0)
  assert.deepEqual(r.fake.secrets('dev', '/', env.INFISICAL_PROJECT_ID), { CLOUDFLARE_API_TOKEN: 'abc' })
})

test('bootstrap on a 2024 build: prints the web-UI steps, then continues from the identity credentials', async (t) => {
  const r = await infisicalRepo({ convention: '2024', initialized: false, credentials: false })
  t.after(() => r.cleanup())
  const steps = await r.run('bootstrap')
  assert.equal(steps.code, 2)
  assert.match(steps.stderr, /no bootstrap API \(a 2024 build\)/)
  assert.match(steps.stderr, /1\. Open http:\/\/localhost:8020\/admin\/signup and create the admin account/)
  assert.match(steps.stderr, /Universal Auth/)
  assert.match(steps.stderr, /--client-id, --project-id, --client-secret-stdin/)
  const wrong = await r.run('bootstrap', ['--client-id', r.fake.clientId, '--project-id', r.fake.projectId, '--client-secret-stdin'], { input: 'wrong' })
  assert.equal(wrong.code, 1)
  assert.match(wrong.stderr, /refused the machine identity credentials/)
  assert.ok(!r.repo.read('.env').includes('INFISICAL_CLIENT_ID'), 'nothing stored from credentials that do not work')
  const ok = await r.run('bootstrap', ['--client-id', r.fake.clientId, '--project-id', r.fake.projectId, '--client-secret-stdin'], { input: `${r.fake.clientSecret}\n` })
  assert.equal(ok.code, 0, ok.stderr)
  const env = parseDotenv(r.repo.read('.env'))
  assert.deepEqual([env.INFISICAL_CLIENT_ID, env.INFISICAL_CLIENT_SECRET, env.INFISICAL_PROJECT_ID], [r.fake.clientId, r.fake.clientSecret, r.fake.projectId])
})

const PASSWORD = 'a-very-long-admin-password'
const isBootstrap = (r: { method: string; path: string; body: unknown }) => r.method === 'POST' && r.path === '/api/v1/admin/bootstrap' && typeof (r.body as { email?: unknown })?.email === 'string'

test('bootstrap resumes after a failed step: a 5xx on the client secret, then a run without the password finishes (issue 14 #21)', async (t) => {
  const r = await infisicalRepo({ convention: 'upstream', seedIdentity: false, initialized: false, credentials: false })
  t.after(() => r.cleanup())
  r.fake.server.inject((q) => q.method === 'POST' && q.path.endsWith('/client-secrets'), { status: 500, body: { statusCode: 500, error: 'Internal Server Error', message: 'database timeout' } })
  const first = await r.run('bootstrap', ['--email', 'admin@example.com', '--password-stdin'], { input: `${PASSWORD}\n` })
  assert.equal(first.code, 1, first.stderr)
  assert.match(first.stderr, /✖ the instance is bootstrapped \(admin admin@example\.com\), but the step "create a client secret" failed/)
  assert.match(first.stderr, /run bootstrap again once the cause is fixed: it continues from this step/)
  assert.equal(r.mode('.stackyard/infisical-bootstrap.json'), 0o600)
  const adminToken = JSON.parse(r.repo.read('.stackyard/infisical-bootstrap.json')).adminToken as string
  assert.ok(!(first.stdout + first.stderr).includes(adminToken) && !(first.stdout + first.stderr).includes(PASSWORD), 'no token, no password printed')
  // the next run needs neither the email nor the password: it continues with the recorded admin token
  const second = await r.run('bootstrap', ['--json'], { allowSecrets: JSON_PRINTS_CLIENT_ID })
  assert.equal(second.code, 0, second.stderr)
  const j = JSON.parse(second.stdout)
  assert.equal(j.mode, 'bootstrapped')
  assert.deepEqual(j.created, ['universal auth and a client secret', 'project membership (role member)'])
  assert.ok(!r.repo.exists('.stackyard/infisical-bootstrap.json'), 'the progress (and its admin token) is gone once .env holds the credentials')
  const env = parseDotenv(r.repo.read('.env'))
  const identities = r.fake.identities()
  assert.equal(identities.length, 1, 'one identity, not a second one')
  assert.deepEqual([identities[0].clientId, identities[0].projects], [env.INFISICAL_CLIENT_ID, [env.INFISICAL_PROJECT_ID]])
  assert.equal((await r.run('bootstrap')).code, 0, 'and converged: already configured')
})

test('bootstrap: a lost reply to universal auth is resumed (its client ID read back); a lost or failed bootstrap request is sent again only when it did not take effect, else said as it is, never "unreachable" (issue 14 #21)', async (t) => {
  const r = await infisicalRepo({ convention: 'upstream', seedIdentity: false, initialized: false, credentials: false })
  t.after(() => r.cleanup())
  // a 502 from a proxy before the backend saw the request: nothing happened, so it is sent again
  r.fake.server.inject(isBootstrap, { status: 502, body: { statusCode: 502, error: 'Bad Gateway', message: 'upstream not ready' } })
  // the universal-auth call is applied, then the connection drops
  r.fake.server.inject((q) => q.method === 'POST' && /^\/api\/v1\/auth\/universal-auth\/identities\/[^/]+$/.test(q.path), { afterHandler: true, drop: true })
  const first = await r.run('bootstrap', ['--email', 'admin@example.com', '--password-stdin'], { input: `${PASSWORD}\n` })
  assert.equal(first.code, 1, first.stderr)
  assert.match(first.stderr, /failed before it took effect .*sending it again/)
  assert.match(first.stderr, /the step "add universal auth to the identity" failed/)
  const second = await r.run('bootstrap', ['--json'], { allowSecrets: JSON_PRINTS_CLIENT_ID })
  assert.equal(second.code, 0, second.stderr)
  assert.equal(parseDotenv(r.repo.read('.env')).INFISICAL_CLIENT_ID, r.fake.identities()[0].clientId)

  // a bootstrap that took effect but whose reply was lost: the one thing the API cannot give again is the admin token
  const lost = await infisicalRepo({ convention: 'upstream', seedIdentity: false, initialized: false, credentials: false })
  t.after(() => lost.cleanup())
  lost.fake.server.inject(isBootstrap, { afterHandler: true, drop: true })
  const once = await lost.run('bootstrap', ['--email', 'admin@example.com', '--password-stdin'], { input: `${PASSWORD}\n` })
  assert.equal(once.code, 1, once.stderr)
  const line = once.stderr.split('\n').find((l) => l.startsWith('✖')) ?? ''
  assert.match(line, /was initialised by this bootstrap \(admin admin@example\.com\), but the reply carrying its admin token was lost/)
  assert.doesNotMatch(line, /^✖ Infisical is unreachable/)
  const later = await lost.run('bootstrap')
  assert.equal(later.code, 1)
  assert.match(later.stderr, /was initialised by this bootstrap .* reply carrying its admin token was lost/, 'a later run says the same, not a generic "already has an admin"')
  assert.match(later.stderr, /--client-id, --project-id and --client-secret-stdin/)
})

test('bootstrap with working credentials from the shell says so, not "in .env" (issue 14 #22)', async (t) => {
  const r = await infisicalRepo({ credentials: false })
  t.after(() => r.cleanup())
  const ok = await r.run('bootstrap', [], { env: { INFISICAL_CLIENT_ID: r.fake.clientId, INFISICAL_CLIENT_SECRET: r.fake.clientSecret, INFISICAL_PROJECT_ID: r.fake.projectId } })
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stderr, /the machine identity in the shell environment can read dev of project/)
  const inEnv = await infisicalRepo()
  t.after(() => inEnv.cleanup())
  assert.match((await inEnv.run('bootstrap')).stderr, /the machine identity in \.env can read dev/)
})

test('reset --infra: containers and exactly their volumes by compose labels, pg_dump first, typed confirmation or --yes', async (t) => {
  const r = await infisicalRepo({ credentials: false })
  t.after(() => r.cleanup())
  const ps = (svc: string, id: string, state = 'running') => ({ match: ['ps', '-a', 'label=com.docker.compose.project=stackyard-infra', `label=com.docker.compose.service=${svc}`], stdout: JSON.stringify({ ID: id, Names: `stackyard-infra-${svc}-1`, State: state }) })
  r.repo.dockerRules([
    ps('infisical-db', 'db1'),
    ps('infisical-redis', 'rd1'),
    ps('infisical-backend', 'be1'),
    { match: ['volume', 'ls', 'label=com.docker.compose.volume=infisical-pg-data'], stdout: 'stackyard-infisical-pg-data' },
    { match: ['volume', 'ls', 'label=com.docker.compose.volume=infisical-redis-data'], stdout: 'stackyard-infisical-redis-data' },
    { match: ['exec', 'db1', 'pg_dump'], stdout: '-- PostgreSQL database dump\nCREATE TABLE x();\n-- PostgreSQL database dump complete\n' },
  ])
  const refused = await r.run('reset', ['--infra'])
  assert.equal(refused.code, 2, 'no terminal and no --yes')
  assert.ok(!r.repo.dockerCalls().some((c) => c.argv[0] === 'rm' || c.argv.includes('pg_dump')))
  const dry = await r.run('reset', ['--infra', '--yes', '--dry-run'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.match(dry.stdout, /\[dry-run\] docker rm -f -v db1 rd1 be1/)
  assert.ok(!r.repo.dockerCalls().some((c) => c.argv[0] === 'rm' || c.argv[0] === 'exec'), 'dry-run ran no change')
  const done = await r.run('reset', ['--infra', '--yes', '--json'])
  assert.equal(done.code, 0, done.stderr)
  const calls = r.repo.dockerCalls().map((c) => c.argv.join(' '))
  const dump = calls.findIndex((c) => c.startsWith('exec db1 pg_dump -U infisical -d infisical'))
  const rm = calls.findIndex((c) => c === 'rm -f -v db1 rd1 be1')
  const vol = calls.findIndex((c) => c === 'volume rm stackyard-infisical-pg-data stackyard-infisical-redis-data')
  assert.ok(dump >= 0 && rm > dump && vol > rm, calls.join('\n'))
  const backup = JSON.parse(done.stdout).backup as string
  assert.match(r.repo.read(backup), /dump complete/)
  assert.equal(r.mode(backup), 0o600)
})

test('reset --data: backup, stop the backend, empty the database and Redis, start the backend', async (t) => {
  const r = await infisicalRepo({ credentials: false })
  t.after(() => r.cleanup())
  const ps = (svc: string, id: string) => ({ match: ['ps', '-a', `label=com.docker.compose.service=${svc}`], stdout: JSON.stringify({ ID: id, Names: `stackyard-infra-${svc}-1`, State: 'running' }) })
  r.repo.dockerRules([ps('infisical-db', 'db1'), ps('infisical-redis', 'rd1'), ps('infisical-backend', 'be1'), { match: ['exec', 'db1', 'pg_dump'], stdout: 'partial' }])
  const incomplete = await r.run('reset', ['--data', '--yes'])
  assert.equal(incomplete.code, 1)
  assert.match(incomplete.stderr, /incomplete dump; nothing was changed/)
  assert.ok(!r.repo.dockerCalls().some((c) => c.argv.includes('psql') || c.argv[0] === 'stop'))
  r.repo.resetDocker()
  r.repo.dockerRules([ps('infisical-db', 'db1'), ps('infisical-redis', 'rd1'), ps('infisical-backend', 'be1'), { match: ['exec', 'db1', 'pg_dump'], stdout: '-- PostgreSQL database dump complete\n' }])
  const done = await r.run('reset', ['--data', '--yes'])
  assert.equal(done.code, 0, done.stderr)
  const calls = r.repo.dockerCalls().map((c) => c.argv.join(' ')).filter((c) => !c.startsWith('ps') && !c.startsWith('volume ls'))
  assert.deepEqual(calls, [
    'exec db1 pg_dump -U infisical -d infisical --clean --if-exists --no-owner',
    'stop be1',
    'exec db1 psql -U infisical -d infisical -v ON_ERROR_STOP=1 -c DROP SCHEMA public CASCADE; CREATE SCHEMA public;',
    'exec rd1 redis-cli FLUSHALL',
    'start be1',
  ])
})
