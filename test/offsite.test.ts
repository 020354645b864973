// tasks/offsite.ts against the real restic binary and a local restic repository in a temp folder: push
// (repository and password created, temp files and work folders left out, the password never in argv or a file but
// .env), retention, restore byte for byte (sha256), check (and a damaged repository failing it), a wrong password,
// dry runs; and tasks/schedule.ts writing units that converge and pass systemd-analyze verify.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tempRepo, type TempRepo } from './helpers/repo.ts'
import { parseDotenv } from '../lib/env/dotenv.ts'

const RESTIC = spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim()
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const ARCHIVE_1 = 'stackyard-backup-20260101T030000Z.tar.gz'
const ARCHIVE_2 = 'stackyard-backup-20260102T030000Z.tar.gz.enc'

let repo: TempRepo
let work: string
let resticRepo: string
let log: string
let bin: string

/** every restic call: its argv, and whether RESTIC_PASSWORD was in its environment (never the value) */
function resticCalls(): Array<{ argv: string; passwordInEnv: boolean }> {
  if (!existsSync(log)) return []
  return readFileSync(log, 'utf8').split('\n--\n').filter((c) => c.trim()).map((c) => {
    const [argv, env] = c.split('\n')
    return { argv, passwordInEnv: env === 'password-in-env' }
  })
}

const run = (args: string[], env: Record<string, string | undefined> = {}) =>
  repo.run('offsite.ts', args, { env: { PATH: `${bin}:${process.env.PATH}`, RESTIC_CACHE_DIR: join(work, 'cache'), ...env } })
const password = () => parseDotenv(repo.read('.env')).STACKYARD_OFFSITE_PASSWORD
const snapshots = () => readdirSync(join(resticRepo, 'snapshots')).length

if (!RESTIC) test('offsite: restic is not installed (test/deps.sh installs it)', { skip: 'no restic on PATH' }, () => {})
else {
  before(() => {
    repo = tempRepo()
    work = mkdtempSync(join(tmpdir(), 'stackyard-offsite-'))
    resticRepo = join(work, 'restic repo')
    log = join(work, 'restic.log')
    bin = join(work, 'bin')
    mkdirSync(bin)
    // a recording restic in front of the real one
    writeFileSync(join(bin, 'restic'), `#!/bin/sh\n{ printf '%s\\n' "$*"; if [ -n "$RESTIC_PASSWORD" ]; then echo password-in-env; else echo no-password; fi; echo --; } >> '${log}'\nexec '${RESTIC}' "$@"\n`)
    chmodSync(join(bin, 'restic'), 0o755)
    repo.write('.env', `STACKYARD_OFFSITE_REPOSITORY="${resticRepo}"\nSTACKYARD_OFFSITE_KEEP=last=2\n`, 0o600)
    mkdirSync(join(repo.root, 'backups'), { mode: 0o700 })
    repo.write(`backups/${ARCHIVE_1}`, randomBytes(200_000).toString('base64'), 0o600)
    // what a push must leave out: a temp file of an interrupted write, a killed backup's work folder
    repo.write(`backups/.${ARCHIVE_1}.999999.abcdefabcdef.tmp`, 'half written', 0o600)
    repo.write('backups/.stackyard-backup-999999-abcdef/raw.sql', 'raw dump', 0o600)
  })
  after(() => {
    repo.cleanup()
    rmSync(work, { recursive: true, force: true })
  })

  test('push --dry-run on a fresh setup: says what it would do, creates nothing', async () => {
    const r = await run(['push', '--dry-run'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\[dry-run\] edit \.env: \+STACKYARD_OFFSITE_PASSWORD/)
    assert.match(r.stdout, /\[dry-run\] restic init/)
    assert.match(r.stdout, /\[dry-run\] restic backup .*--tag stackyard/)
    assert.ok(!existsSync(resticRepo), 'no repository')
    assert.equal(password(), undefined, '.env unchanged')
  })

  test('push: creates the repository and its password (.env, 0600); copies the archives, not the temp files; the password only in restic\'s environment', async () => {
    const r = await run(['push', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.initialized, true)
    assert.equal(out.passwordGenerated, true)
    assert.deepEqual(out.archives, [ARCHIVE_1])
    assert.equal(out.copied, true)
    const pw = password()
    assert.ok(pw && pw.length >= 40, 'a generated password in .env')
    assert.equal(statSync(join(repo.root, '.env')).mode & 0o777, 0o600)
    assert.match(r.stderr, /keep a copy away from this machine/)
    assert.ok(existsSync(join(resticRepo, 'config')), 'a restic repository')
    const calls = resticCalls()
    assert.ok(calls.some((c) => c.argv.startsWith('init')) && calls.some((c) => c.argv.startsWith('backup')))
    for (const c of calls) assert.ok(!c.argv.includes(pw), 'never in argv')
    assert.ok(calls.filter((c) => !c.argv.endsWith('cat config')).every((c) => c.passwordInEnv), 'RESTIC_PASSWORD in the environment of every call but the probes before it existed')
    const ls = spawnSync(RESTIC, ['ls', 'latest'], { encoding: 'utf8', env: { ...process.env, RESTIC_REPOSITORY: resticRepo, RESTIC_PASSWORD: pw, RESTIC_CACHE_DIR: join(work, 'cache') } })
    assert.equal(ls.status, 0, ls.stderr)
    assert.match(ls.stdout, new RegExp(ARCHIVE_1.replace(/\./g, '\\.') + '$', 'm'))
    assert.doesNotMatch(ls.stdout, /\.tmp$|stackyard-backup-999999|raw\.sql/m, 'temp files and work folders left out')
  })

  test('push --dry-run on an existing repository: reads with --no-lock only, writes nothing', async () => {
    const before = readFileSync(log, 'utf8').length
    const r = await run(['push', '--dry-run'])
    assert.equal(r.code, 0, r.stderr)
    const calls = readFileSync(log, 'utf8').slice(before).split('\n--\n').filter((c) => c.trim()).map((c) => c.split('\n')[0])
    assert.ok(calls.length >= 2, calls.join(' | '))
    for (const c of calls) assert.match(c, /^--no-lock (cat config|snapshots|ls)( |$)/, c)
    assert.match(r.stdout, /\[dry-run\] restic forget/)
  })

  test('a second push copies nothing; a new archive is copied; STACKYARD_OFFSITE_KEEP=last=2 forgets and prunes the rest', async () => {
    const again = await run(['push', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).copied, false)
    assert.equal(snapshots(), 1)
    repo.write(`backups/${ARCHIVE_2}`, randomBytes(50_000).toString('base64'), 0o600)
    const second = await run(['push', '--json'])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(JSON.parse(second.stdout).copied, true)
    repo.write(`backups/${ARCHIVE_2}`, randomBytes(50_000).toString('base64'), 0o600) // the same size, new bytes: copied again
    const third = await run(['push', '--json'])
    assert.equal(third.code, 0, third.stderr)
    const out = JSON.parse(third.stdout)
    assert.equal(out.forgotten.length, 1)
    assert.equal(out.pruned, true)
    assert.equal(snapshots(), 2, 'the policy keeps the last two')
  })

  test('restore: an archive deleted here comes back byte for byte (sha256), mode 0600; again: already there', async () => {
    const path = join(repo.root, 'backups', ARCHIVE_1)
    const before = sha(readFileSync(path))
    unlinkSync(path)
    const r = await run(['restore', ARCHIVE_1, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.written, true)
    assert.equal(sha(readFileSync(path)), before)
    assert.equal(out.sha256, before)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.match(r.stderr, /next: npx zx tasks\/restore\.ts backups\//)
    const again = await run(['restore', ARCHIVE_1, '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).written, false)
    assert.ok(!readdirSync(join(repo.root, 'backups')).some((f) => f.endsWith('.tmp') && !f.includes('999999')), 'no temp file left')
  })

  test('restore without a name: the newest archive; a different file in its place is left alone (exit 2)', async () => {
    const path = join(repo.root, 'backups', ARCHIVE_2)
    writeFileSync(path, 'something else')
    const r = await run(['restore'])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /exists and differs/)
    assert.equal(readFileSync(path, 'utf8'), 'something else')
    const missing = await run(['restore', 'stackyard-backup-20300101T000000Z.tar.gz'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /is not in snapshot/)
  })

  test('list --json: the snapshots and the archives of the newest', async () => {
    const r = await run(['list', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.equal(out.snapshots.length, 2)
    assert.deepEqual(out.listing.archives.map((a: { name: string }) => a.name), [ARCHIVE_1, ARCHIVE_2])
  })

  test('a wrong password: exit 2, says so, never shows it, changes nothing', async () => {
    const wrong = 'not-the-password-at-all-0123456789'
    const before = snapshots()
    for (const action of ['push', 'restore', 'check', 'list']) {
      const r = await run([action], { STACKYARD_OFFSITE_PASSWORD: wrong })
      assert.equal(r.code, 2, `${action}: ${r.stderr}`)
      assert.match(r.stderr, /does not open with STACKYARD_OFFSITE_PASSWORD \(from your shell\): wrong password/)
      assert.ok(!(r.stdout + r.stderr).includes(wrong), `${action}: the password is not echoed`)
    }
    assert.equal(snapshots(), before)
  })

  test('check passes; a repository missing a data pack fails it (exit 1)', async () => {
    const ok = await run(['check'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stderr, /no errors/)
    const damaged = join(work, 'damaged')
    spawnSync('cp', ['-a', resticRepo, damaged])
    // remove a pack of file data only (a missing tree pack would make restic retry its loads for minutes)
    const env = { ...process.env, RESTIC_REPOSITORY: damaged, RESTIC_PASSWORD: password(), RESTIC_CACHE_DIR: join(work, 'cache') }
    const restic = (...args: string[]) => spawnSync(RESTIC, args, { encoding: 'utf8', env }).stdout
    const packs = restic('list', 'index').split('\n').filter(Boolean).flatMap((id) => (JSON.parse(restic('cat', 'index', id)) as { packs: Array<{ id: string; blobs: Array<{ type: string }> }> }).packs)
    const dataPack = packs.find((p) => p.blobs.every((b) => b.type === 'data'))
    assert.ok(dataPack, 'a data pack')
    unlinkSync(join(damaged, 'data', dataPack.id.slice(0, 2), dataPack.id))
    const bad = await run(['check'], { STACKYARD_OFFSITE_REPOSITORY: damaged })
    assert.equal(bad.code, 1, bad.stderr)
    assert.match(bad.stderr, /restic check failed/)
  })

  test('no repository configured, or none at the configured place: exit 2 with what to set', async () => {
    const unset = await run(['list'], { STACKYARD_OFFSITE_REPOSITORY: '' })
    assert.equal(unset.code, 2)
    assert.match(unset.stderr, /STACKYARD_OFFSITE_REPOSITORY is not set/)
    const nowhere = await run(['check'], { STACKYARD_OFFSITE_REPOSITORY: join(work, 'nothing here') })
    assert.equal(nowhere.code, 2)
    assert.match(nowhere.stderr, /there is no restic repository at/)
  })

  test('the password is in .env and nowhere else: not in any other file of the checkout, the repository or the log', () => {
    const pw = Buffer.from(password()!)
    const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
    for (const f of [...files(repo.root).filter((f) => !f.includes('node_modules') && !/\/\.env(\.bak)?$/.test(f)), ...files(work)])
      assert.ok(!readFileSync(f).includes(pw), `the password is in ${f}`)
  })

  test('schedule: units written once (a second run writes nothing), verified by systemd-analyze, holding no secret', async () => {
    repo.write('.env', repo.read('.env') + 'STACKYARD_BACKUP_ENCRYPT=true\nSTACKYARD_BACKUP_PASSPHRASE="a passphrase that is long enough"\nSTACKYARD_VERIFY_SCHEDULE="Sat 04:15"\n', 0o600)
    const dir = join(work, 'units')
    const dry = await repo.run('schedule.ts', ['--dir', dir, '--dry-run'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /\[dry-run\] write .*stackyard-backup\.service/)
    assert.match(dry.stdout, /^ExecStart=.* zx tasks\/backup\.ts --keep 7 --encrypt$/m, 'the dry run shows the files')
    assert.ok(!existsSync(dir), 'nothing written')
    const first = await repo.run('schedule.ts', ['--dir', dir, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const written = readdirSync(dir).sort()
    assert.deepEqual(written, ['stackyard-backup.service', 'stackyard-backup.timer', 'stackyard-verify.service', 'stackyard-verify.timer'])
    const backupUnit = readFileSync(join(dir, 'stackyard-backup.service'), 'utf8')
    assert.match(backupUnit, /^ExecStart=.* zx tasks\/offsite\.ts push$/m, 'the offsite push after the backup')
    assert.match(readFileSync(join(dir, 'stackyard-verify.timer'), 'utf8'), /^OnCalendar=Sat \*-\*-\* 04:15:00$/m)
    const env = parseDotenv(repo.read('.env'))
    const secrets = [env.STACKYARD_OFFSITE_PASSWORD, env.STACKYARD_BACKUP_PASSPHRASE]
    for (const f of written) for (const s of secrets) assert.ok(!readFileSync(join(dir, f), 'utf8').includes(s), `${f} holds no secret`)
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const v = spawnSync('systemd-analyze', ['verify', ...written.map((f) => join(dir, f))], { encoding: 'utf8' })
      assert.equal(v.status, 0, v.stderr)
    }
    const mtimes = written.map((f) => statSync(join(dir, f)).mtimeMs)
    const second = await repo.run('schedule.ts', ['--dir', dir])
    assert.equal(second.code, 0, second.stderr)
    assert.match(second.stderr, /up to date; nothing written/)
    assert.deepEqual(written.map((f) => statSync(join(dir, f)).mtimeMs), mtimes)
    const off = await repo.run('schedule.ts', ['--dir', dir], { env: { STACKYARD_VERIFY_SCHEDULE: 'off' } })
    assert.equal(off.code, 0, off.stderr)
    assert.deepEqual(readdirSync(dir).sort(), ['stackyard-backup.service', 'stackyard-backup.timer'], 'the drill\'s units removed')
    assert.match(off.stderr, /disable --now stackyard-verify\.timer/)
  })

  test('schedule: a secret only the shell holds is refused (a timer would not see it), exit 2, naming it', async () => {
    const env = parseDotenv(repo.read('.env'))
    repo.write('.env', repo.read('.env').replace(/^STACKYARD_BACKUP_PASSPHRASE=.*\n/m, ''), 0o600)
    try {
      const r = await repo.run('schedule.ts', ['--print'], { env: { STACKYARD_BACKUP_PASSPHRASE: env.STACKYARD_BACKUP_PASSPHRASE } })
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, /would not see STACKYARD_BACKUP_PASSPHRASE/)
      const aws = 'shell-only-aws-secret-0123456789'
      const cron = await repo.run('schedule.ts', ['--cron'], { env: { STACKYARD_BACKUP_ENCRYPT: 'false', AWS_SECRET_ACCESS_KEY: aws } })
      assert.equal(cron.code, 0, cron.stderr)
      assert.match(cron.stderr, /AWS_SECRET_ACCESS_KEY: set only in your shell/, 'a storage credential only in the shell: a warning')
      assert.ok(!(cron.stdout + cron.stderr).includes(aws))
      assert.match(cron.stdout, /^0 3 \* \* \* cd .* && .*npx zx tasks\/backup\.ts --keep 7 && .*npx zx tasks\/offsite\.ts push$/m)
    } finally {
      repo.write('.env', repo.read('.env') + `STACKYARD_BACKUP_PASSPHRASE="${env.STACKYARD_BACKUP_PASSPHRASE}"\n`, 0o600)
    }
  })
}
