// Secrets left behind (issue 14, items 7-10), end to end: temp copies of secret files are git-ignored and swept by
// the next write, doctor checks every secret-holding file (backups, temp copies, the backups folder and its archives,
// killed backups' work folders) as it checks .env, both tasks create the backups folder 0700 and sweep killed runs'
// work folders there, and a symlinked .env is written through.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempRepo, type TempRepo } from './helpers/repo.ts'

const modeOf = (path: string) => statSync(path).mode & 0o777
/** a pid whose process has exited (owner of a killed run's leftovers) */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!
const json = (s: string) => JSON.parse(s)
const git = (repo: TempRepo, ...args: string[]) => execFileSync('git', args, { cwd: repo.root, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } })

async function generated(): Promise<TempRepo> {
  const repo = tempRepo()
  const r = await repo.run('secrets.ts', ['generate'])
  assert.equal(r.code, 0, r.stderr)
  return repo
}

test('temp copies of secret files are git-ignored; the next write of .env sweeps those of killed writes, with a message', async () => {
  const repo = await generated()
  try {
    git(repo, 'init', '-q')
    const dead = deadPid()
    const strays = ['..env.0123456789ab.tmp', `..env.${dead}.abcdef012345.tmp`, `..env.bak.${dead}.00112233aabb.tmp`, `..env.infisical.${dead}.0123456789ab.tmp`, `..env.infisical.bak.fedcba987654.tmp`]
    for (const s of strays) repo.write(s, 'SECRET="stray-value-7f3a"\n', 0o600)
    mkdirSync(join(repo.root, 'backups', `.stackyard-backup-${dead}-AbC123`), { recursive: true })
    for (const s of [...strays, `backups/.stackyard-backup-${dead}-AbC123/x.sql`, '.env.bak', '.env.infisical.bak'])
      assert.equal(spawnSync('git', ['check-ignore', '-q', s], { cwd: repo.root }).status, 0, `${s} is git-ignored`)
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'SEARXNG_SECRET'])
    assert.equal(r.code, 0, r.stderr)
    for (const s of strays.slice(0, 3)) {
      assert.ok(!repo.exists(s), `${s} swept`)
      assert.ok(r.stderr.includes(`removed ${s}: a temp file an interrupted earlier write left behind`), r.stderr)
    }
    assert.ok(repo.exists(strays[3]) && repo.exists(strays[4]), 'copies of other files are left to their own writes')
    assert.ok(!(r.stderr + r.stdout).includes('stray-value-7f3a'), 'a stray copy is named, never shown')
  } finally {
    repo.cleanup()
  }
})

test('doctor checks every file holding secrets like .env: backups, temp copies, the backups folder, archives, killed backups', async () => {
  const repo = await generated()
  try {
    assert.equal((await repo.run('doctor.ts')).code, 0, 'sound to begin with')
    const dead = deadPid()
    repo.write('.env.bak', repo.read('.env'), 0o644)
    repo.write('.env.infisical.bak', 'INFISICAL_AUTH_SECRET="x"\n', 0o600)
    repo.write(`..env.${dead}.0123456789ab.tmp`, repo.read('.env'), 0o644)
    mkdirSync(join(repo.root, 'backups', `.stackyard-backup-${dead}-AbC123`), { recursive: true, mode: 0o700 })
    repo.write(`backups/.stackyard-backup-${dead}-AbC123/data__postgres__n8n.sql`, '-- dump\n', 0o600)
    repo.write('backups/stackyard-backup-2026-01-01T00-00-00Z.tar.gz', 'archive', 0o644)
    execFileSync('chmod', ['755', join(repo.root, 'backups')])
    git(repo, 'init', '-q')
    git(repo, 'add', '-f', '.env.infisical.bak')
    const r = await repo.run('doctor.ts', ['--json'])
    assert.equal(r.code, 1, r.stdout)
    const check = json(r.stdout).checks.find((c: { id: string }) => c.id === 'secret-files')
    const messages = check.findings.map((f: { status: string; message: string }) => `${f.status}: ${f.message}`)
    const expected = [
      /^fail: \.env\.bak is readable by others \(mode 0644\)$/,
      /^fail: \.env\.infisical\.bak is tracked by git/,
      new RegExp(`^warn: \\.\\.env\\.${dead}\\.0123456789ab\\.tmp is a copy of \\.env an interrupted write left behind$`),
      new RegExp(`^fail: \\.\\.env\\.${dead}\\.0123456789ab\\.tmp \\(a copy of \\.env\\) is readable by others \\(mode 0644\\)$`),
      /^fail: backups \(the backups folder\) is open to others \(mode 0755\)$/,
      new RegExp(`^warn: backups/\\.stackyard-backup-${dead}-AbC123 was left by a backup that was killed: it holds raw dumps$`),
      /^fail: backups\/stackyard-backup-2026-01-01T00-00-00Z\.tar\.gz \(a backup\) is readable by others \(mode 0644\)$/,
    ]
    for (const e of expected) assert.ok(messages.some((m: string) => e.test(m)), `${e} in\n${messages.join('\n')}`)
    assert.equal(messages.length, expected.length, messages.join('\n'))
    assert.ok(!r.stdout.includes(repo.read('.env').match(/SEARXNG_SECRET="([^"]+)"/)![1]), 'no secret printed')
  } finally {
    repo.cleanup()
  }
})

test('backup creates the backups folder 0700 and sweeps work folders and temp files of killed backups (live ones kept)', async () => {
  const repo = await generated()
  try {
    const dead = deadPid()
    const old = join(repo.root, 'backups', '.stackyard-backup-Zz9Yy8')
    const stale = [`.stackyard-backup-${dead}-AbC123`, `.stackyard-backup-app.tar.gz.${dead}.0123456789ab.tmp`, '.stackyard-backup-Zz9Yy8']
    const live = [`.stackyard-backup-${process.pid}-LiVe12`, '.stackyard-backup-NeW123']
    for (const d of [stale[0], stale[2], ...live]) {
      mkdirSync(join(repo.root, 'backups', d), { recursive: true })
      writeFileSync(join(repo.root, 'backups', d, 'dump.sql'), 'raw dump\n', { mode: 0o600 })
    }
    writeFileSync(join(repo.root, 'backups', stale[1]), 'partial archive', { mode: 0o600 })
    utimesSync(old, new Date(Date.now() - 2 * 86400_000), new Date(Date.now() - 2 * 86400_000))
    execFileSync('chmod', ['700', join(repo.root, 'backups')])
    const dry = await repo.run('backup.ts', ['--stack', 'compute', '--include-secrets', '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    for (const s of stale) assert.ok(repo.exists(`backups/${s}`), 'a dry run removes nothing')
    assert.match(dry.stdout, new RegExp(`\\[dry-run\\] remove backups/\\.stackyard-backup-${dead}-AbC123 \\(left by a backup that was killed\\)`))
    const r = await repo.run('backup.ts', ['--stack', 'compute', '--include-secrets'])
    assert.equal(r.code, 0, r.stderr)
    for (const s of stale) {
      assert.ok(!repo.exists(`backups/${s}`), `${s} swept`)
      assert.ok(r.stderr.includes(`removed backups/${s}: a `), r.stderr)
    }
    for (const l of live) assert.ok(repo.exists(`backups/${l}/dump.sql`), `${l} kept: its process runs (or it is recent and ownerless)`)
    assert.ok(readdirSync(join(repo.root, 'backups')).some((f) => /^stackyard-backup-.*\.tar\.gz$/.test(f)))

    const fresh = await generated()
    try {
      const before = process.umask(0o022)
      try {
        assert.equal((await fresh.run('backup.ts', ['--stack', 'compute', '--include-secrets'])).code, 0)
      } finally {
        process.umask(before)
      }
      assert.equal(modeOf(join(fresh.root, 'backups')), 0o700)
    } finally {
      fresh.cleanup()
    }
  } finally {
    repo.cleanup()
  }
})

test('infisical reset creates the backups folder as backup does: 0700', async () => {
  const repo = await generated()
  try {
    const ps = (svc: string, id: string) => ({ match: ['ps', '-a', `label=com.docker.compose.service=${svc}`], stdout: JSON.stringify({ ID: id, Names: `stackyard-infra-${svc}-1`, State: 'running' }) })
    repo.dockerRules([ps('infisical-db', 'db1'), ps('infisical-redis', 'rd1'), ps('infisical-backend', 'be1'), { match: ['exec', 'db1', 'pg_dump'], stdout: '-- PostgreSQL database dump complete\n' }])
    const before = process.umask(0o022)
    let r
    try {
      r = await repo.run('00-infrastructure/infisical/reset.ts', ['--data', '--yes', '--json'])
    } finally {
      process.umask(before)
    }
    assert.equal(r.code, 0, r.stderr)
    assert.equal(modeOf(join(repo.root, 'backups')), 0o700)
    assert.equal(modeOf(join(repo.root, json(r.stdout).backup)), 0o600)
  } finally {
    repo.cleanup()
  }
})

test('a symlinked .env is written through: the link stays, its target gets the new secrets, nothing is split in two', async () => {
  const repo = await generated()
  const vault = mkdtempSync(join(tmpdir(), 'stackyard-vault-'))
  try {
    const target = join(vault, 'platform.env')
    writeFileSync(target, repo.read('.env'), { mode: 0o600 })
    execFileSync('rm', [join(repo.root, '.env')])
    symlinkSync(target, join(repo.root, '.env'))
    const old = readFileSync(target, 'utf8').match(/SEARXNG_SECRET="([^"]+)"/)![1]
    const r = await repo.run('secrets.ts', ['generate', '--rotate', 'SEARXNG_SECRET'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(lstatSync(join(repo.root, '.env')).isSymbolicLink(), 'the link is kept')
    assert.equal(readlinkSync(join(repo.root, '.env')), target)
    const now = readFileSync(target, 'utf8').match(/SEARXNG_SECRET="([^"]+)"/)![1]
    assert.notEqual(now, old, 'the target holds the rotated secret')
    assert.equal(modeOf(target), 0o600)
    assert.ok(readFileSync(`${target}.bak`, 'utf8').includes(old), 'the backup is beside the target')
    assert.ok(!existsSync(join(repo.root, '.env.bak')), 'no second copy in the repository')
    assert.deepEqual(readdirSync(vault).sort(), ['platform.env', 'platform.env.bak'])
  } finally {
    repo.cleanup()
    execFileSync('rm', ['-rf', vault])
  }
})
