// The real tier: backup and restore round trips on real PostgreSQL (pgvector), Valkey and a Caddy volume — in place
// after down --volumes, into a fresh clone, from an encrypted archive — with database-level grants and settings; and
// the restore defects a real engine showed (an unpullable image, an archive without secrets on a fresh clone).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, basename } from 'node:path'
import { realTier, realRepo, docker, containers } from './harness.ts'
import type { TempRepo } from '../helpers/repo.ts'

const STACKS = ['--stacks', 'infrastructure,data,compute']
const PASSPHRASE = 'correct horse battery staple 42'

const service = (project: string, name: string) => {
  const c = containers(project).get(name)
  assert.ok(c, `${project}/${name} has a container`)
  return c.id
}
const psql = (db: string, sql: string) => docker(['exec', service('stackyard-data', 'postgres'), 'psql', '-X', '-qtA', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql])
const valkey = (...args: string[]) => docker(['exec', service('stackyard-infra', 'valkey'), 'valkey-cli', ...args])
const caddyFile = () => docker(['exec', service('stackyard-infra', 'caddy'), 'cat', '/data/stackyard-real-tier.txt'])

function plant(): void {
  for (const sql of [
    'CREATE EXTENSION IF NOT EXISTS vector',
    'CREATE TABLE items (id int PRIMARY KEY, name text, embedding vector(3))',
    "INSERT INTO items VALUES (1, 'first', '[1,2,3]')",
    'ALTER TABLE items OWNER TO n8n',
  ]) assert.equal(psql('n8n', sql).code, 0, sql)
  for (const sql of ['CREATE TABLE notes (body text)', "INSERT INTO notes VALUES ('in the second database')", 'ALTER TABLE notes OWNER TO flowise'])
    assert.equal(psql('flowise', sql).code, 0, sql)
  // database-level state that no pg_dump of the database's content holds
  for (const sql of ['GRANT CONNECT ON DATABASE n8n TO flowise', "ALTER DATABASE openwebui SET work_mem = '8MB'", "ALTER ROLE flowise IN DATABASE flowise SET statement_timeout = '5s'"])
    assert.equal(psql('postgres', sql).code, 0, sql)
  assert.equal(valkey('SET', 'greeting', 'hello').stdout.trim(), 'OK')
  assert.equal(valkey('HSET', 'user:1', 'name', 'ada', 'lang', 'en').stdout.trim(), '2')
  assert.equal(docker(['exec', service('stackyard-infra', 'caddy'), 'sh', '-c', 'echo kept > /data/stackyard-real-tier.txt']).code, 0)
}

function assertPlanted(where: string): void {
  assert.equal(psql('n8n', "SELECT name || ' ' || embedding::text FROM items WHERE id = 1").stdout.trim(), 'first [1,2,3]', `${where}: the vector row`)
  assert.equal(psql('flowise', 'SELECT body FROM notes').stdout.trim(), 'in the second database', `${where}: the second database`)
  assert.equal(psql('postgres', "SELECT has_database_privilege('flowise', 'n8n', 'CONNECT')").stdout.trim(), 't', `${where}: the database grant`)
  assert.match(psql('postgres', "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'openwebui' AND s.setrole = 0").stdout, /work_mem=8MB/, `${where}: ALTER DATABASE … SET`)
  assert.match(psql('postgres', "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = 'flowise' AND r.rolname = 'flowise'").stdout, /statement_timeout=5s/, `${where}: ALTER ROLE … IN DATABASE … SET`)
  assert.equal(valkey('GET', 'greeting').stdout.trim(), 'hello', `${where}: the Valkey key`)
  assert.equal(valkey('HGET', 'user:1', 'lang').stdout.trim(), 'en', `${where}: the Valkey hash`)
  assert.equal(caddyFile().stdout.trim(), 'kept', `${where}: the file in Caddy's data volume`)
}

async function backupArchive(repo: TempRepo, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const r = await repo.run('backup.ts', ['--json', ...args], { env })
  assert.equal(r.code, 0, r.stdout + r.stderr)
  return JSON.parse(r.stdout).archive as string
}

if (realTier('backup')) {
  const repo = realRepo()
  test.after(() => repo.cleanup())

  test('setup and data to keep', async () => {
    const r = await repo.run('setup.ts', ['--yes', ...STACKS])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    plant()
  })

  let plain = ''
  test('5. backup → down --volumes → restore: every row, key, file, grant and setting is back', async () => {
    plain = await backupArchive(repo, ['--include-secrets'])
    const down = await repo.run('down.ts', ['--volumes', '--yes'])
    assert.equal(down.code, 0, down.stdout + down.stderr)
    assert.ok(!docker(['volume', 'ls', '-q']).stdout.includes('stackyard-postgres-data'))
    const r = await repo.run('restore.ts', [plain, '--yes'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assertPlanted('in place')
  })

  test('5b. the same archive into a fresh clone (its .env from the archive)', async () => {
    const fresh = realRepo()
    try {
      mkdirSync(join(fresh.root, 'backups'), { mode: 0o700 })
      const copy = join(fresh.root, 'backups', basename(plain))
      copyFileSync(plain, copy)
      assert.equal((await repo.run('down.ts', ['--volumes', '--yes'])).code, 0)
      const r = await fresh.run('restore.ts', [copy, '--yes'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assertPlanted('fresh clone')
      assert.equal(fresh.read('.env'), repo.read('.env'), 'the archive\'s .env')
      assert.equal((await fresh.run('down.ts', ['--volumes', '--yes'])).code, 0)
    } finally {
      fresh.cleanup()
    }
  })

  test('5c. an --encrypt archive round trip', async () => {
    const up = await repo.run('up.ts')
    assert.equal(up.code, 0, up.stdout + up.stderr)
    plant()
    const enc = await backupArchive(repo, ['--encrypt'], { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE })
    assert.match(enc, /\.enc$/)
    assert.equal((await repo.run('down.ts', ['--volumes', '--yes'])).code, 0)
    const wrong = await repo.run('restore.ts', [enc, '--yes'], { env: { STACKYARD_BACKUP_PASSPHRASE: 'not it at all' } })
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr)
    const r = await repo.run('restore.ts', [enc, '--yes'], { env: { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE } })
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.ok(!(r.stdout + r.stderr).includes(PASSPHRASE))
    assertPlanted('encrypted')
  })

  test('an archive without secrets on a fresh clone: refused before anything is touched, with what to do', async () => {
    const noSecrets = await backupArchive(repo)
    const fresh = realRepo()
    try {
      const before = containers('stackyard-data').get('postgres')!.id
      const r = await fresh.run('restore.ts', [noSecrets, '--yes'])
      assert.equal(r.code, 2, r.stdout + r.stderr)
      assert.match(r.stderr, /--include-secrets|setup/)
      assert.doesNotMatch(r.stderr, /N8N_ENCRYPTION_KEY/, 'not an unrelated stack\'s variable')
      assert.ok(!fresh.exists('.env'), 'nothing written')
      assert.equal(containers('stackyard-data').get('postgres')!.id, before, 'nothing stopped')
    } finally {
      fresh.cleanup()
    }
  })

  test('one unpullable image: restore brings back what it can and names what it could not', async () => {
    const archive = await backupArchive(repo)
    // the compute stand-in goes away: its image can be neither found nor pulled (no registry here)
    assert.equal((await repo.run('down.ts', ['--stack', 'compute'])).code, 0)
    assert.equal(docker(['image', 'tag', 'ollama/ollama:0.32.6', 'stackyard-real-tier/ollama-kept:1']).code, 0)
    assert.equal(docker(['image', 'rm', 'ollama/ollama:0.32.6']).code, 0)
    try {
      const r = await repo.run('restore.ts', [archive, '--yes'])
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /compute/)
      assert.match(r.stderr, /ollama/)
      const infra = containers('stackyard-infra')
      assert.equal(infra.get('caddy')?.state, 'running', 'the proxy is back')
      assert.equal(infra.get('valkey')?.state, 'running', 'valkey is back')
      assert.equal(containers('stackyard-data').get('postgres')?.state, 'running')
      assertPlanted('partial')
    } finally {
      docker(['image', 'tag', 'stackyard-real-tier/ollama-kept:1', 'ollama/ollama:0.32.6'])
      docker(['image', 'rm', 'stackyard-real-tier/ollama-kept:1'])
    }
  })
}
