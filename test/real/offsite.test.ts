// The real tier: a real backup archive through real restic and back — backup → offsite push → the archive and the
// database volume gone → offsite restore (byte for byte) → restore.ts brings the rows back on real PostgreSQL; then
// restic check on the repository.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { realTier, realRepo, docker, containers } from './harness.ts'

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const hasRestic = spawnSync('restic', ['version']).status === 0

if (!hasRestic) test('offsite: real tier skipped', { skip: 'restic is not installed (test/deps.sh installs it)' }, () => {})
else if (realTier('offsite')) {
  const repo = realRepo()
  const work = mkdtempSync(join(tmpdir(), 'stackyard-real-restic-'))
  const env = { RESTIC_CACHE_DIR: join(work, 'cache') }
  test.after(() => {
    repo.cleanup()
    rmSync(work, { recursive: true, force: true })
  })
  const psql = (sql: string) => {
    const c = containers('stackyard-data').get('postgres')
    assert.ok(c, 'postgres runs')
    return docker(['exec', c.id, 'psql', '-X', '-qtA', '-U', 'postgres', '-d', 'n8n', '-v', 'ON_ERROR_STOP=1', '-c', sql])
  }

  test('backup → restic → archive and volume gone → restic restore → restore.ts: the rows are back', async () => {
    const setup = await repo.run('setup.ts', ['--yes', '--stacks', 'data'])
    assert.equal(setup.code, 0, setup.stdout + setup.stderr)
    for (const sql of ['CREATE TABLE offsite (id int PRIMARY KEY, note text)', "INSERT INTO offsite VALUES (1, 'kept offsite')"]) assert.equal(psql(sql).code, 0, sql)
    const backup = await repo.run('backup.ts', ['--json', '--include-secrets'])
    assert.equal(backup.code, 0, backup.stdout + backup.stderr)
    const archive = JSON.parse(backup.stdout).archive as string
    const before = sha(archive)

    repo.write('.env', `${repo.read('.env')}STACKYARD_OFFSITE_REPOSITORY="${join(work, 'restic')}"\n`, 0o600)
    const push = await repo.run('offsite.ts', ['push', '--json'], { env })
    assert.equal(push.code, 0, push.stdout + push.stderr)
    assert.equal(JSON.parse(push.stdout).initialized, true)

    unlinkSync(archive)
    const down = await repo.run('down.ts', ['--volumes', '--yes'])
    assert.equal(down.code, 0, down.stdout + down.stderr)
    assert.ok(!docker(['volume', 'ls', '-q']).stdout.includes('stackyard-postgres-data'), 'the database volume is gone')

    const back = await repo.run('offsite.ts', ['restore', '--json'], { env })
    assert.equal(back.code, 0, back.stdout + back.stderr)
    assert.equal(JSON.parse(back.stdout).path, archive)
    assert.equal(sha(archive), before, 'byte for byte')

    const check = await repo.run('offsite.ts', ['check'], { env })
    assert.equal(check.code, 0, check.stdout + check.stderr)

    // the archive's .env (made before the first push) replaces this one: the offsite settings stay in .env.bak
    const restore = await repo.run('restore.ts', [archive, '--yes'])
    assert.equal(restore.code, 0, restore.stdout + restore.stderr)
    assert.equal(psql('SELECT note FROM offsite WHERE id = 1').stdout.trim(), 'kept offsite')
    assert.match(repo.read('.env.bak'), /^STACKYARD_OFFSITE_PASSWORD=/m)
  })
}
