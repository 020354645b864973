// secrets.ts generate --rotate against the fake docker (which keeps each PostgreSQL role's password from its first up,
// checks a login and applies ALTER ROLE): the plan under --dry-run changes nothing; a secret nothing runs is only
// written; a consumed one is changed in the database first, then .env, then its services are recreated and proven; a
// failure at any later step is undone everywhere (exit 1); encryption keys are refused (exit 2); derived JWTs follow
// their source; a key Infisical supplies is changed there too (the loopback fake Infisical), and put back on failure.
// And doctor --live's file-json check (n8n's encryption key).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { tempRepo, type TempRepo, type DockerCall } from './helpers/repo.ts'
import { parseDotenv } from '../lib/env/dotenv.ts'
import { composeSub, isMutating } from './stack-fixtures.ts'
import { startFakeInfisical } from './fake-infisical.ts'

const sha = (s: string) => 'sha256:' + createHash('sha256').update(s).digest('hex')
const env = (repo: TempRepo) => parseDotenv(repo.read('.env'))
const rolePassword = (repo: TempRepo, role: string) => (repo.dockerState() as { data: Record<string, { passwords: Record<string, string> }> }).data['stackyard-data/postgres'].passwords[role]
const since = (repo: TempRepo, n: number) => repo.dockerCalls().slice(n)
const alters = (calls: DockerCall[]) => calls.filter((c) => c.argv.some((a) => a.includes('ALTER ROLE')))
const ups = (calls: DockerCall[]) => calls.filter((c) => composeSub(c) === 'up')

/** a copy of the repository with generated secrets and the data stack up (postgres holds the first passwords) */
async function platform(): Promise<TempRepo> {
  const repo = tempRepo()
  assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
  const up = await repo.run('up.ts', ['--stack', 'data'])
  assert.equal(up.code, 0, up.stderr)
  return repo
}

test('--dry-run prints the plan (role, service, file, services recreated, proof) and changes nothing', async () => {
  const repo = await platform()
  try {
    const before = repo.read('.env')
    const n = repo.dockerCalls().length
    const dry = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /1\. ALTER ROLE n8n PASSWORD … in data\/postgres \(as postgres; the password on stdin\) for N8N_DB_PASSWORD/)
    assert.match(dry.stdout, /2\. write \.env: N8N_DB_PASSWORD/)
    assert.match(dry.stdout, /3\. recreate data\/postgres and wait until healthy/)
    assert.match(dry.stdout, /4\. prove N8N_DB_PASSWORD with the live check/)
    assert.match(dry.stdout, /\[dry-run\] edit \.env: ~N8N_DB_PASSWORD/)
    assert.equal(repo.read('.env'), before)
    assert.deepEqual(since(repo, n).filter(isMutating).map((c) => c.argv.join(' ')), [], 'no mutating docker call')
    assert.equal(rolePassword(repo, 'n8n'), sha(env(repo).N8N_DB_PASSWORD))
  } finally {
    repo.cleanup()
  }
})

test('a consumed password: ALTER ROLE first (password on stdin only), then .env, then the users recreated, then proven; every role still logs in', async () => {
  const repo = await platform()
  try {
    const old = env(repo)
    const n = repo.dockerCalls().length
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--rotate', 'POSTGRES_PASSWORD'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const now = env(repo)
    assert.notEqual(now.N8N_DB_PASSWORD, old.N8N_DB_PASSWORD)
    assert.notEqual(now.POSTGRES_PASSWORD, old.POSTGRES_PASSWORD)
    assert.equal(now.OPENWEBUI_DB_PASSWORD, old.OPENWEBUI_DB_PASSWORD)
    assert.equal(parseDotenv(repo.read('.env.bak')).N8N_DB_PASSWORD, old.N8N_DB_PASSWORD, 'the previous file is the backup')
    assert.equal(rolePassword(repo, 'n8n'), sha(now.N8N_DB_PASSWORD))
    assert.equal(rolePassword(repo, 'postgres'), sha(now.POSTGRES_PASSWORD))
    const calls = since(repo, n)
    const order = calls.filter((c) => alters([c]).length || composeSub(c) === 'up').map((c) => (composeSub(c) === 'up' ? `up ${c.argv.at(-1)}` : `alter ${c.argv.at(-1)}`))
    assert.deepEqual(order, ['alter postgres', 'alter n8n', 'up postgres'], 'the database first, then the recreation')
    for (const c of calls) for (const v of [now.N8N_DB_PASSWORD, now.POSTGRES_PASSWORD]) assert.ok(!c.argv.join(' ').includes(v), 'a password never in argv')
    assert.match(r.stderr, /rotated POSTGRES_PASSWORD, N8N_DB_PASSWORD/)
    assert.match(r.stderr, /live check: 2 secrets accepted/)
    const live = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(live.code, 0, live.stdout)
    // a second run changes nothing
    const rotated = repo.read('.env')
    const again = await repo.run('secrets.ts', ['generate'])
    assert.equal(again.code, 0)
    assert.equal(repo.read('.env'), rotated)
    assert.match(again.stderr, /nothing to generate/)
  } finally {
    repo.cleanup()
  }
})

test('a failure after the database changed (recreation unhealthy, or the proof fails) puts the old value back in the database and .env: exit 1, says so', async () => {
  const repo = await platform()
  try {
    const before = repo.read('.env')
    const old = env(repo).N8N_DB_PASSWORD
    const unhealthy = { match: ['up', '--no-deps', 'postgres'], times: 1, exit: 1, stderr: 'container stackyard-data-postgres-1 is unhealthy' }
    repo.dockerRules([unhealthy])
    let n = repo.dockerCalls().length
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--timeout', '5'])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /rotation of N8N_DB_PASSWORD failed while recreating data\/\{postgres\}: data\/\{postgres\} did not come back healthy within 5s: container stackyard-data-postgres-1 is unhealthy/)
    assert.match(r.stderr, /rolled back: \.env restored; data\/\{postgres\} recreated with the old value; role n8n in data\/postgres has its old password again; live check: 1 secret accepted/)
    assert.equal(repo.read('.env'), before, '.env is byte for byte the old one')
    assert.equal(rolePassword(repo, 'n8n'), sha(old), 'the role has its old password')
    const calls = since(repo, n)
    assert.equal(alters(calls).length, 2, 'changed, then changed back')
    assert.deepEqual(ups(calls).map((c) => c.argv.slice(c.argv.indexOf('--wait-timeout'), c.argv.indexOf('--wait-timeout') + 2).join(' ')), ['--wait-timeout 5', '--wait-timeout 180'], 'the rollback gives the services time')

    // the new value is not accepted after the recreation (a proof that fails): undone too
    // (the fake counts a rule's uses by its place in the list: the spent one stays first)
    repo.dockerRules([unhealthy, { match: ['select 1'], times: 1, exit: 2, stderr: 'psql: error: FATAL:  password authentication failed for user "n8n"' }])
    n = repo.dockerCalls().length
    const v = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'])
    assert.equal(v.code, 1, v.stdout + v.stderr)
    assert.match(v.stderr, /failed while proving the new value with the live check: N8N_DB_PASSWORD does not open role n8n on data\/postgres/)
    assert.match(v.stderr, /rolled back: /)
    assert.equal(repo.read('.env'), before)
    assert.equal(rolePassword(repo, 'n8n'), sha(old))
    assert.equal(alters(since(repo, n)).length, 2)
    assert.equal((await repo.run('doctor.ts', ['--live'])).code, 0)
  } finally {
    repo.cleanup()
  }
})

test('nothing running uses it: only .env changes (no docker change); no engine, or an encryption key: refused (exit 2), the key\'s reason and procedure shown', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    const old = env(repo)
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'])
    assert.equal(r.code, 0, r.stderr)
    assert.notEqual(env(repo).N8N_DB_PASSWORD, old.N8N_DB_PASSWORD)
    assert.match(r.stdout, /no running service uses N8N_DB_PASSWORD: only \.env changes/)
    assert.match(r.stderr, /data\/postgres is not running: only \.env changes/)
    assert.deepEqual(repo.dockerCalls().filter(isMutating), [])
    const health = await repo.run('health.ts', ['--json'])
    assert.match(JSON.parse(health.stdout).checks.find((c: { check: string }) => c.check === 'live secrets').detail, /^not checked: no service holding one of the 7 checkable secrets is running$/)

    const before = repo.read('.env')
    // without an answering engine nobody can tell whether a service uses it: refused, nothing written
    repo.dockerRules([{ match: ['info'], exit: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' }])
    const noEngine = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'])
    assert.equal(noEngine.code, 2, noEngine.stderr)
    assert.match(noEngine.stderr, /--rotate N8N_DB_PASSWORD: Docker must answer to tell whether a running service uses it: the Docker engine is not reachable/)
    assert.equal(repo.read('.env'), before)
    repo.dockerRules([])
    for (const [key, reason, procedure] of [
      ['N8N_ENCRYPTION_KEY', /it encrypts the credentials n8n has stored/, /export:credentials --all --decrypted/],
      ['INFISICAL_ENCRYPTION_KEY', /Infisical encrypts every secret/, /infisical\/pull\.ts/],
      ['FLOWISE_ENCRYPTION_KEY', /encrypts the credentials Flowise has stored/, /enter the credentials again/],
    ] as const) {
      const no = await repo.run('secrets.ts', ['generate', '--rotate', key])
      assert.equal(no.code, 2, no.stderr)
      assert.match(no.stderr, new RegExp(`--rotate ${key}: it cannot be replaced in place: `))
      assert.match(no.stderr, reason)
      assert.match(no.stderr, procedure)
    }
    assert.equal(repo.read('.env'), before)
  } finally {
    repo.cleanup()
  }
})

test('a derived JWT follows its source: both are written and every running service of either is recreated', async () => {
  const repo = tempRepo({
    files: {
      'compose/04-tokens/docker-compose.yml': `name: stackyard-tokens
x-stackyard:
  description: a service that signs tokens and one that presents one
x-secrets:
  TOKENS_JWT_SECRET: { format: hex, bytes: 32, description: signs the tokens }
  TOKENS_ANON_KEY: { format: jwt, secret: TOKENS_JWT_SECRET, claims: { role: anon }, description: a token signed with it }
services:
  issuer:
    image: example/issuer:1
    environment:
      JWT_SECRET: \${TOKENS_JWT_SECRET:?run secrets}
  client:
    image: example/client:1
    environment:
      ANON_KEY: \${TOKENS_ANON_KEY:?run secrets}
networks:
  default:
    external: true
    name: ai-network
`,
    },
  })
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    assert.equal((await repo.run('up.ts', ['--stack', 'tokens'])).code, 0)
    const old = env(repo)
    const n = repo.dockerCalls().length
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'TOKENS_JWT_SECRET'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /2\. write \.env: TOKENS_JWT_SECRET, TOKENS_ANON_KEY/)
    assert.match(r.stdout, /3\. recreate tokens\/issuer,client and wait until healthy/)
    const now = env(repo)
    assert.notEqual(now.TOKENS_JWT_SECRET, old.TOKENS_JWT_SECRET)
    assert.notEqual(now.TOKENS_ANON_KEY, old.TOKENS_ANON_KEY)
    assert.deepEqual(ups(since(repo, n)).map((c) => c.argv.slice(-2)), [['issuer', 'client']])
    const doctor = await repo.run('doctor.ts', ['--json'])
    const secrets = JSON.parse(doctor.stdout).checks.find((c: { id: string }) => c.id === 'secrets')
    assert.deepEqual(secrets.findings, [], 'the re-signed token verifies with the new source')
  } finally {
    repo.cleanup()
  }
})

test('a key Infisical supplies: changed in the database, then in Infisical, its export and .env; a failure puts Infisical\'s old value back; a reference or an unreachable Infisical changes nothing', async () => {
  const repo = await platform()
  const fake = await startFakeInfisical()
  try {
    const INF = { env: { INFISICAL_API_URL: fake.url } }
    const old = env(repo).N8N_DB_PASSWORD
    repo.write('.env', repo.read('.env') + `INFISICAL_CLIENT_ID="${fake.clientId}"\nINFISICAL_CLIENT_SECRET="${fake.clientSecret}"\nINFISICAL_PROJECT_ID="${fake.projectId}"\n`, 0o600)
    fake.seed({ N8N_DB_PASSWORD: old })
    assert.equal((await repo.run('00-infrastructure/infisical/export.ts', [], INF)).code, 0)
    assert.equal(parseDotenv(repo.read('.env.infisical')).N8N_DB_PASSWORD, old)

    const dry = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--dry-run'], INF)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /2\. change N8N_DB_PASSWORD in Infisical/)
    assert.match(dry.stdout, /\[dry-run\] PATCH \/api\/v3\/secrets\/raw\/N8N_DB_PASSWORD/)
    assert.equal(fake.writes().length, 0, 'nothing sent under --dry-run')

    // a failure after the database and Infisical changed: both get the old value back, both files byte for byte
    const files = { env: repo.read('.env'), infisical: repo.read('.env.infisical') }
    repo.dockerRules([{ match: ['up', '--no-deps', 'postgres'], times: 1, exit: 1, stderr: 'container stackyard-data-postgres-1 is unhealthy' }])
    const failed = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--timeout', '5'], INF)
    assert.equal(failed.code, 1, failed.stdout + failed.stderr)
    assert.match(failed.stderr, /rolled back: \.env restored; \.env\.infisical restored; N8N_DB_PASSWORD has its old value in Infisical again; data\/\{postgres\} recreated with the old value; role n8n in data\/postgres has its old password again/)
    assert.equal(fake.secrets().N8N_DB_PASSWORD, old)
    assert.equal(fake.writes().length, 2, 'changed, then changed back')
    assert.deepEqual({ env: repo.read('.env'), infisical: repo.read('.env.infisical') }, files)
    assert.equal(rolePassword(repo, 'n8n'), sha(old))

    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'], INF)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const now = parseDotenv(repo.read('.env.infisical')).N8N_DB_PASSWORD
    assert.notEqual(now, old)
    assert.equal(fake.secrets().N8N_DB_PASSWORD, now, 'Infisical holds the new value')
    assert.equal(env(repo).N8N_DB_PASSWORD, now, '.env, which held it too, agrees (a later push or pull changes nothing)')
    assert.equal(rolePassword(repo, 'n8n'), sha(now))
    assert.match(r.stderr, /Infisical: N8N_DB_PASSWORD replaced/)
    assert.equal((await repo.run('doctor.ts', ['--live'], INF)).code, 0)
    const push = await repo.run('00-infrastructure/infisical/push.ts', ['--dry-run'], INF)
    assert.doesNotMatch(push.stdout + push.stderr, /N8N_DB_PASSWORD.*(update|conflict)/i, 'both sides agree')

    // a reference in Infisical is not a value of its own: refused before anything changes
    fake.seed({ N8N_DB_PASSWORD: '${OTHER_SECRET}', OTHER_SECRET: now })
    const n = repo.dockerCalls().length
    const ref = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'], INF)
    assert.equal(ref.code, 2, ref.stdout + ref.stderr)
    assert.match(ref.stderr, /in Infisical \(dev\) it is a reference to another secret/)
    assert.equal(alters(since(repo, n)).length, 0)

    // Infisical unreachable: nothing changes anywhere
    fake.seed({ N8N_DB_PASSWORD: now })
    await fake.close()
    const down = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'], INF)
    assert.equal(down.code, 1, down.stdout + down.stderr)
    assert.equal(alters(since(repo, n)).length, 0)
    assert.equal(parseDotenv(repo.read('.env.infisical')).N8N_DB_PASSWORD, now)
  } finally {
    await fake.close().catch(() => {})
    repo.cleanup()
  }
})

test('doctor --live, file-json: n8n\'s encryption key is compared with the one in its data folder, never printed; health shows the same result in one line', async () => {
  const repo = tempRepo()
  try {
    assert.equal((await repo.run('secrets.ts', ['generate'])).code, 0)
    // n8n alone, through compose.ts: no preflight (whose port probes other test files run at the same time)
    const up = await repo.run('compose.ts', ['apps', '--', 'up', '--detach', 'n8n'])
    assert.equal(up.code, 0, up.stderr)
    // n8n wrote the key of its first start into its data folder (the fake does as n8n does)
    const key = env(repo).N8N_ENCRYPTION_KEY
    const ok = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(ok.code, 0, ok.stdout)
    assert.ok(repo.dockerCalls().some((c) => c.argv.slice(-4).join(' ') === 'n8n cat -- /home/node/.n8n/config'), 'read with cat inside the container')
    const health = await repo.run('health.ts', ['--json'])
    const line = JSON.parse(health.stdout).checks.find((c: { check: string }) => c.check === 'live secrets')
    assert.equal(line.ok, true)
    assert.match(line.detail, /^ok: 1 secret accepted by the running services; 6 others not checked \(service not running\)$/)

    // the key changed in .env by hand (a rotation refuses it): the data folder still holds the first one
    repo.write('.env', repo.read('.env').replace(key, 'f'.repeat(64)), 0o600)
    const bad = await repo.run('doctor.ts', ['--live', '--json'])
    assert.equal(bad.code, 1)
    const f = JSON.parse(bad.stdout).checks.find((c: { id: string }) => c.id === 'live-secrets').findings
    assert.deepEqual(f.map((x: { message: string }) => x.message), ['N8N_ENCRYPTION_KEY differs from the encryptionKey that apps/n8n holds in /home/node/.n8n/config: the service cannot read the data it encrypted'])
    assert.match(f[0].fix, /put the value the data was encrypted with back in \.env/)
    assert.ok(!(bad.stdout + bad.stderr).includes(key), 'the value the container holds is never printed')
    const sick = await repo.run('health.ts')
    assert.equal(sick.code, 1)
    assert.match(sick.stdout, /FAIL\s+live secrets\s+doctor --live\s+1 mismatch \(N8N_ENCRYPTION_KEY\)/)
  } finally {
    repo.cleanup()
  }
})
