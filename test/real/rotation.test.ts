// The real tier: secrets.ts generate --rotate on a running platform (the data stack's PostgreSQL stand-in). Rotating
// the superuser's and an app role's password changes them in the server, in .env and in the recreated container, and
// every role still logs in (doctor --live); a rotation that fails midway (the recreated server cannot be healthy
// within --timeout 1) leaves the old passwords working everywhere and .env byte for byte. And doctor --live's
// file-json method against a container that keeps its first key in its data folder, as n8n does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { realTier, realRepo, docker, containers } from './harness.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'

const DATA = 'stackyard-data'
/** a stack whose one service writes the key of its first start into its data folder and keeps it (as n8n does) */
const KEYS_STACK = `name: stackyard-keys
x-stackyard:
  description: a service that keeps a copy of its key in its data folder (the real tier's stand-in for n8n's)
x-secrets:
  KEEPER_KEY:
    format: hex
    bytes: 32
    description: encrypts what the keeper stores
    check: { method: file-json, service: keeper, path: /data/config, field: encryptionKey }
    rotate: { method: refuse, reason: it encrypts what the keeper stores, procedure: re-encrypt by hand }
services:
  keeper:
    image: debian:13.4-slim
    environment:
      KEY: \${KEEPER_KEY:?run npx zx tasks/secrets.ts generate}
    command: ["sh", "-c", "[ -f /data/config ] || printf '{\\"encryptionKey\\": \\"%s\\"}' \\"$$KEY\\" > /data/config; exec sleep infinity"]
    volumes:
      - keeper-data:/data
    x-backup: { method: none, reason: a test fixture }
networks:
  default:
    external: true
    name: ai-network
volumes:
  keeper-data:
    name: stackyard-keeper-data
`

if (realTier('rotation')) {
  const repo = realRepo({ files: { 'compose/04-keys/docker-compose.yml': KEYS_STACK } })
  test.after(() => repo.cleanup())
  const live = async () => {
    const r = await repo.run('doctor.ts', ['--live', '--json'])
    return { code: r.code, check: JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'live-secrets') as { status: string; summary: string; findings: Array<{ message: string; fix: string }> } }
  }
  /** logs in over TCP from the shared network, as an app does */
  const login = (role: string, password: string) =>
    docker(['exec', '-e', 'PGPASSWORD', containers(DATA).get('postgres')!.id, 'psql', '-X', '-w', '-h', 'postgres', '-U', role, '-d', role === 'postgres' ? 'postgres' : role, '-tAc', 'select current_user'], { env: { PGPASSWORD: password } })

  test('setup: the data stack and the key keeper run; doctor --live accepts every secret', async () => {
    const r = await repo.run('setup.ts', ['--yes', '--stacks', 'data,keys'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const l = await live()
    assert.equal(l.code, 0, JSON.stringify(l.check))
    assert.match(l.check.summary, /^5 secrets accepted by the running services/)
  })

  test('rotating POSTGRES_PASSWORD and N8N_DB_PASSWORD in place: the server, .env and the recreated container hold the new ones; every role logs in', async () => {
    const old = parseDotenv(repo.read('.env'))
    const before = containers(DATA).get('postgres')!.id
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'POSTGRES_PASSWORD', '--rotate', 'N8N_DB_PASSWORD'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stderr, /live check: 2 secrets accepted by the running services/)
    const now = parseDotenv(repo.read('.env'))
    assert.notEqual(now.N8N_DB_PASSWORD, old.N8N_DB_PASSWORD)
    assert.notEqual(now.POSTGRES_PASSWORD, old.POSTGRES_PASSWORD)
    assert.notEqual(containers(DATA).get('postgres')!.id, before, 'postgres was recreated with the new values')
    assert.equal(login('n8n', now.N8N_DB_PASSWORD).stdout.trim(), 'n8n')
    assert.match(login('n8n', old.N8N_DB_PASSWORD).stderr, /password authentication failed/, 'the old password no longer opens the role')
    assert.equal(login('postgres', now.POSTGRES_PASSWORD).stdout.trim(), 'postgres')
    const l = await live()
    assert.equal(l.code, 0, JSON.stringify(l.check))
    assert.match(l.check.summary, /^5 secrets accepted/)
    // the recreated container carries the new app password: re-applying the roles' passwords from it keeps them
    assert.equal((await repo.run('01-data/databases.ts', ['--passwords'])).code, 0)
    assert.equal((await live()).code, 0, 'databases.ts --passwords did not bring an old password back')
  })

  test('a rotation that fails midway (the recreated server is not healthy within --timeout 1) puts the old password back everywhere: exit 1, .env byte for byte', async () => {
    const before = repo.read('.env')
    const old = parseDotenv(before).N8N_DB_PASSWORD
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--timeout', '1'])
    assert.equal(r.code, 1, r.stdout + r.stderr)
    assert.match(r.stderr, /rotation of N8N_DB_PASSWORD failed while recreating data\/\{postgres\}: data\/\{postgres\} did not come back healthy within 1s/)
    assert.match(r.stderr, /rolled back: \.env restored; data\/\{postgres\} recreated with the old value; role n8n in data\/postgres has its old password again; live check: 1 secret accepted/)
    assert.equal(repo.read('.env'), before, '.env is unchanged')
    assert.equal(containers(DATA).get('postgres')!.health, 'healthy')
    assert.equal(login('n8n', old).stdout.trim(), 'n8n', 'the old password opens the role')
    const l = await live()
    assert.equal(l.code, 0, JSON.stringify(l.check))
  })

  test('file-json: a key changed in .env behind the data folder\'s back is named (exit 1), never printed; health says the same in one line', async () => {
    const old = parseDotenv(repo.read('.env')).KEEPER_KEY
    repo.write('.env', repo.read('.env').replace(old, 'e'.repeat(64)), 0o600)
    const l = await live()
    assert.equal(l.code, 1)
    assert.deepEqual(l.check.findings.map((f) => f.message), ['KEEPER_KEY differs from the encryptionKey that keys/keeper holds in /data/config: the service cannot read the data it encrypted'])
    const h = await repo.run('health.ts')
    assert.equal(h.code, 1)
    assert.match(h.stdout, /FAIL\s+live secrets\s+doctor --live\s+1 mismatch \(KEEPER_KEY\)/)
    assert.doesNotMatch(h.stdout + h.stderr, new RegExp(old), 'the key the container holds is never printed')
    const refused = await repo.run('secrets.ts', ['generate', '--rotate', 'KEEPER_KEY'])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /it cannot be replaced in place: it encrypts what the keeper stores/)
  })
}
