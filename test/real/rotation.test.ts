// The real tier: secrets.ts generate --rotate on a running platform (the data stack's PostgreSQL stand-in). Rotating
// the superuser's and an app role's password changes them in the server, in .env and in the recreated container, and
// every role still logs in (doctor --live); a rotation that fails midway (the recreated server cannot be healthy
// within --timeout 1), or that Ctrl-C stops, leaves the old passwords working everywhere and .env byte for byte. And doctor --live's
// file-json method against a container that keeps its first key in its data folder, as n8n does. And the
// infisical-root-key method against Infisical's PostgreSQL holding a root key wrapped the way Infisical wraps it. Last,
// a password Infisical supplies (the loopback fake Infisical) rotated in the server, Infisical and both files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCipheriv, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { realTier, realRepo, docker, containers } from './harness.ts'
import { parseDotenv } from '../../lib/env/dotenv.ts'
import { startFakeInfisical } from '../fake-infisical.ts'
import { taskCommand } from '../helpers/task-command.ts'

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

  test('Ctrl-C while the recreated server starts: exit 130, and the rotation is undone as a failure is (.env byte for byte, the old password opens the role)', async () => {
    const before = repo.read('.env')
    const old = parseDotenv(before).N8N_DB_PASSWORD
    const first = containers(DATA).get('postgres')!.id
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', CI: '1' }
    delete env.NODE_OPTIONS
    // its own process group, signalled as a terminal signals it: the task and its docker children alike
    const [cmd, ...argv] = taskCommand(repo.root, 'secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'])
    const child = spawn(cmd, argv, { cwd: repo.root, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.resume()
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)))
    // once the server is being recreated with the new password (polling the engine, not the clock), interrupt
    let recreating = false
    for (let i = 0; i < 600 && !recreating && child.exitCode === null; i++) {
      recreating = (containers(DATA).get('postgres')?.id ?? first) !== first
      if (!recreating) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(recreating, `the rotation recreated the server: ${stderr}`)
    process.kill(-child.pid!, 'SIGINT')
    assert.equal(await exited, 130, stderr)
    assert.match(stderr, /cancelling: putting back what this run changed/)
    assert.match(stderr, /rotation of N8N_DB_PASSWORD cancelled \(Ctrl-C\) while recreating data\/\{postgres\}: stopped there\n\s+rolled back: \.env restored; data\/\{postgres\} recreated with the old value; role n8n in data\/postgres has its old password again; live check: 1 secret accepted/)
    assert.equal(repo.read('.env'), before, '.env is unchanged')
    assert.equal(containers(DATA).get('postgres')!.health, 'healthy')
    assert.equal(login('n8n', old).stdout.trim(), 'n8n', 'the old password opens the role')
  })

  test('infisical-root-key: before Infisical set up its database nothing is proven; a root key wrapped with the key in .env opens, another key is named (exit 1), never printed', async () => {
    const INFRA = 'stackyard-infra'
    const started = await repo.run('compose.ts', ['infrastructure', '--all-profiles', '--', 'up', '-d', '--wait', 'infisical-db'])
    assert.equal(started.code, 0, started.stderr)
    const infisicalCheck = async () => {
      const l = await live()
      return { code: l.code, summary: l.check.summary, findings: l.check.findings.filter((f) => f.message.startsWith('INFISICAL_ENCRYPTION_KEY')) }
    }
    // real PostgreSQL's answer for a database Infisical has not migrated yet
    const fresh = await infisicalCheck()
    assert.equal(fresh.code, 0, JSON.stringify(fresh))
    assert.match(fresh.summary, /^6 secrets accepted by the running services; .*not checked: INFISICAL_ENCRYPTION_KEY: Infisical has not set up its database on infrastructure\/infisical-db yet/)
    // the table as Infisical's migration makes it, and its root key wrapped as Infisical wraps it (AES-256-GCM under the
    // UTF-8 bytes of ENCRYPTION_KEY; IV 12 bytes, ciphertext, tag 16 bytes)
    const key = parseDotenv(repo.read('.env')).INFISICAL_ENCRYPTION_KEY
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'utf8'), iv)
    const body = Buffer.concat([cipher.update(randomBytes(32)), cipher.final()])
    const wrapped = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('hex')
    const sql = `CREATE TABLE kms_root_config (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "encryptedRootKey" bytea NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now(), "updatedAt" timestamptz NOT NULL DEFAULT now());
INSERT INTO kms_root_config (id, "encryptedRootKey") VALUES ('00000000-0000-0000-0000-000000000000', decode('${wrapped}', 'hex'));`
    const seeded = docker(['exec', '-i', containers(INFRA).get('infisical-db')!.id, 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-U', 'infisical', '-d', 'infisical'], { input: sql })
    assert.equal(seeded.code, 0, seeded.stderr)
    const ok = await infisicalCheck()
    assert.equal(ok.code, 0, JSON.stringify(ok))
    assert.match(ok.summary, /^7 secrets accepted by the running services/)
    const before = repo.read('.env')
    try {
      repo.write('.env', before.replace(key, 'f'.repeat(32)), 0o600)
      const wrong = await infisicalCheck()
      assert.equal(wrong.code, 1)
      assert.deepEqual(wrong.findings.map((f) => f.message), ['INFISICAL_ENCRYPTION_KEY does not open the root key Infisical keeps in infrastructure/infisical-db (kms_root_config): Infisical cannot start, nor read a secret it stored'])
      assert.match(wrong.findings[0].fix, /put the value the data was encrypted with back in \.env/)
      const h = await repo.run('health.ts', ['--stack', 'infrastructure'])
      assert.match(h.stdout, /FAIL\s+live secrets\s+doctor --live\s+1 mismatch \(INFISICAL_ENCRYPTION_KEY\)/)
      assert.doesNotMatch(h.stdout + h.stderr, new RegExp(key), 'the key is never printed')
    } finally {
      repo.write('.env', before, 0o600)
      await repo.run('compose.ts', ['infrastructure', '--all-profiles', '--', 'rm', '-sfv', 'infisical-db'])
    }
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

  test('a password Infisical supplies: new in the server, Infisical, .env.infisical and .env; a rotation that fails midway leaves the old one in all four', async () => {
    const fake = await startFakeInfisical()
    try {
      const INF = { env: { INFISICAL_API_URL: fake.url } }
      const old = parseDotenv(repo.read('.env')).N8N_DB_PASSWORD
      repo.write('.env', repo.read('.env') + `INFISICAL_CLIENT_ID="${fake.clientId}"\nINFISICAL_CLIENT_SECRET="${fake.clientSecret}"\nINFISICAL_PROJECT_ID="${fake.projectId}"\n`, 0o600)
      fake.seed({ N8N_DB_PASSWORD: old })
      assert.equal((await repo.run('00-infrastructure/infisical/export.ts', [], INF)).code, 0)

      const files = { env: repo.read('.env'), infisical: repo.read('.env.infisical') }
      const failed = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD', '--timeout', '1'], INF)
      assert.equal(failed.code, 1, failed.stdout + failed.stderr)
      assert.match(failed.stderr, /rolled back: \.env restored; \.env\.infisical restored; N8N_DB_PASSWORD has its old value in Infisical again; data\/\{postgres\} recreated with the old value; role n8n in data\/postgres has its old password again; live check: 1 secret accepted/)
      assert.equal(fake.secrets().N8N_DB_PASSWORD, old)
      assert.deepEqual({ env: repo.read('.env'), infisical: repo.read('.env.infisical') }, files)
      assert.equal(login('n8n', old).stdout.trim(), 'n8n', 'the old password opens the role')

      const r = await repo.run('secrets.ts', ['generate', '--rotate', 'N8N_DB_PASSWORD'], INF)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      const now = parseDotenv(repo.read('.env.infisical')).N8N_DB_PASSWORD
      assert.notEqual(now, old)
      assert.equal(fake.secrets().N8N_DB_PASSWORD, now)
      assert.equal(parseDotenv(repo.read('.env')).N8N_DB_PASSWORD, now)
      assert.equal(login('n8n', now).stdout.trim(), 'n8n')
      assert.match(login('n8n', old).stderr, /password authentication failed/)
    } finally {
      await fake.close()
    }
  })
}
