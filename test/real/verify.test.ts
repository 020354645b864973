// The real tier: restore drills (`backup --verify`) on real PostgreSQL (pgvector), Valkey and a Caddy volume. A good
// archive passes with the running platform untouched (same containers, same data); one whose dump was truncated, with
// the manifest's sizes and checksums rewritten to match, fails (exit 1); unusable archives are exit 2; nothing of a
// drill is left in `docker ps -a`, `docker volume ls`, `docker network ls`, and a killed drill's leftovers go.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { realTier, realRepo, docker, containers } from './harness.ts'
import { writeArchive } from '../../lib/backup/archive.ts'
import { taskCommand } from '../helpers/task-command.ts'

const STACKS = ['--stacks', 'infrastructure,data']
const PASSPHRASE = 'correct horse battery staple 42'
/** above any pid_max: a drill of a process that is gone */
const DEAD = 'stackyard-verify-4194999-abcdef-data'

const id = (project: string, name: string) => {
  const c = containers(project).get(name)
  assert.ok(c, `${project}/${name} has a container`)
  return c.id
}
const psql = (db: string, sql: string) => docker(['exec', id('stackyard-data', 'postgres'), 'psql', '-X', '-qtA', '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql])
const valkey = (...args: string[]) => docker(['exec', id('stackyard-infra', 'valkey'), 'valkey-cli', ...args])

/** every container, volume and network of a drill still there */
function drillObjects(): string[] {
  return [
    ...docker(['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n'),
    ...docker(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n'),
    ...docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n'),
  ].filter((n) => n.includes('stackyard-verify'))
}

/** the platform as it runs: container ids and start times, the volumes; and its data */
function platformState() {
  const c = [...containers('stackyard-data'), ...containers('stackyard-infra')].map(([s, i]) => `${s} ${i.id} ${i.started} ${i.state}`).sort()
  const volumes = docker(['volume', 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter((v) => v && !v.includes('stackyard-verify')).sort()
  const data = [psql('n8n', 'SELECT count(*) FROM items').stdout.trim(), psql('flowise', 'SELECT body FROM notes').stdout.trim(), valkey('DBSIZE').stdout.trim(), valkey('GET', 'greeting').stdout.trim()]
  return { c, volumes, data }
}

/**
 * An archive whose n8n dump is cut, with the manifest's size and sha256 made to match: every index check passes. `half`:
 * in the middle of a statement (psql refuses it); `statement`: right before its CREATE TABLE (psql loads the rest).
 */
async function truncatedCopy(archive: string, cut: 'half' | 'statement'): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'stackyard-verify-truncate-'))
  try {
    assert.equal(spawnSync('tar', ['-xzf', archive, '-C', work]).status, 0)
    const manifest = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as { entries: Array<{ file: string; size: number; sha256: string; database?: string }> }
    const e = manifest.entries.find((x) => x.file.endsWith('db-n8n.sql'))
    assert.ok(e, 'the archive holds the n8n dump')
    const dump = readFileSync(join(work, e.file))
    const at = cut === 'half' ? Math.floor(dump.length / 2) : dump.indexOf('\nCREATE TABLE ') + 1
    assert.ok(at > 0)
    truncateSync(join(work, e.file), at)
    e.size = statSync(join(work, e.file)).size
    e.sha256 = createHash('sha256').update(readFileSync(join(work, e.file))).digest('hex')
    const out = join(dirname(archive), basename(archive).replace(/(\d{8}T\d{6}Z)/, (s) => `${cut}-${s}`))
    await writeArchive(out, [{ name: 'manifest.json', source: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') }, ...manifest.entries.map((x) => ({ name: x.file, source: join(work, x.file) }))])
    return out
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

interface Report { ok: boolean; restoreError?: string; services: Array<{ stack: string; service: string; ok: boolean; checks: Array<{ check: string; ok: boolean; detail: string }> }>; swept: string[]; verifiedAt?: string }

if (realTier('verify')) {
  const repo = realRepo()
  test.after(() => repo.cleanup())
  let archive = ''

  test('setup, data to keep, a backup (recorded in the journal)', async () => {
    const r = await repo.run('setup.ts', ['--yes', ...STACKS])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    for (const sql of ['CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))', "INSERT INTO items VALUES (1, '[1,2,3]')", 'ALTER TABLE items OWNER TO n8n'])
      assert.equal(psql('n8n', sql).code, 0, sql)
    for (const sql of ['CREATE TABLE notes (body text)', "INSERT INTO notes VALUES ('kept')"]) assert.equal(psql('flowise', sql).code, 0, sql)
    assert.equal(valkey('SET', 'greeting', 'hello').stdout.trim(), 'OK')
    assert.equal(valkey('HSET', 'user:1', 'name', 'ada').stdout.trim(), '1')
    assert.equal(docker(['exec', id('stackyard-infra', 'caddy'), 'sh', '-c', 'echo kept > /data/stackyard-real-tier.txt']).code, 0)
    const b = await repo.run('backup.ts', ['--json'])
    assert.equal(b.code, 0, b.stdout + b.stderr)
    archive = JSON.parse(b.stdout).archive
    const journal = JSON.parse(repo.read('.stackyard/backups.json'))
    assert.deepEqual(journal.entries.map((e: { archive: string }) => e.archive), [basename(archive)])
    assert.ok(journal.entries[0].services.some((s: { service: string }) => s.service === 'postgres'))
  })

  test('--verify passes on a good archive; the platform is untouched; nothing of the drill is left; a killed drill\'s leftovers go', async () => {
    const before = platformState()
    // what a drill killed with SIGKILL left: a container (with the anonymous volume of its image), a volume and a
    // network of a process that is gone
    const labels = ['--label', 'io.stackyard.verify=4194999-abcdef', '--label', `com.docker.compose.project=${DEAD}`]
    assert.equal(docker(['volume', 'create', ...labels, `${DEAD}_postgres-data`]).code, 0)
    assert.equal(docker(['network', 'create', ...labels, `${DEAD}_default`]).code, 0)
    assert.equal(docker(['create', ...labels, '--name', `${DEAD}-postgres-1`, 'pgvector/pgvector:0.8.6-pg16']).code, 0)
    const r = await repo.run('backup.ts', ['--verify', '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const report = JSON.parse(r.stdout) as Report
    assert.equal(report.ok, true, r.stdout)
    const by = new Map(report.services.map((s) => [`${s.stack}/${s.service}`, s]))
    const checks = (k: string) => by.get(k)?.checks.map((c) => `${c.ok ? 'ok' : 'FAIL'} ${c.check}: ${c.detail}`) ?? []
    assert.ok(checks('data/postgres').includes('ok database n8n: 1 of the 1 tables its dump creates'), r.stdout + r.stderr + docker(['ps', '-a']).stdout)
    assert.ok(checks('data/postgres').includes('ok database flowise: 1 of the 1 tables its dump creates'))
    assert.ok(checks('data/postgres').some((c) => c.startsWith('ok role n8n logs in')))
    assert.ok(checks('data/postgres').some((c) => c.startsWith('ok postgres ready')))
    assert.ok(checks('infrastructure/valkey').includes('ok keys: db0: 2 of the 2 keys the snapshot holds'), checks('infrastructure/valkey').join('\n'))
    assert.ok(checks('infrastructure/caddy').some((c) => /^ok volume caddy-data: [1-9]\d* of the [1-9]\d* files/.test(c)), checks('infrastructure/caddy').join('\n'))
    assert.ok(report.swept.includes(`${DEAD}_postgres-data`) && report.swept.includes(`${DEAD}_default`), JSON.stringify(report.swept))
    assert.deepEqual(platformState(), before, 'same containers (ids, start times), volumes and data')
    assert.deepEqual(drillObjects(), [], 'no container, volume or network of a drill is left')
    assert.deepEqual(readdirSync(join(repo.root, '.stackyard')).filter((f) => f.startsWith('verify-') || f.startsWith('restore-')), [], 'no private folder left')
    const entry = JSON.parse(repo.read('.stackyard/backups.json')).entries.find((e: { archive: string }) => e.archive === basename(archive))
    assert.equal(entry.verifyOk, true)
    assert.equal(entry.verifiedAt, report.verifiedAt)
  })

  for (const cut of ['half', 'statement'] as const)
    test(`--verify fails (exit 1) on an archive whose dump was truncated (${cut}) with checksums made to match; nothing left`, async (t) => {
      const bad = await truncatedCopy(archive, cut)
      const before = platformState()
      const r = await repo.run('backup.ts', ['--verify', bad, '--json'])
      assert.equal(r.code, 1, r.stdout + r.stderr)
      assert.match(r.stderr, /files verified \(sha256\)/, 'the archive index checks passed: only the drill reveals it')
      const report = JSON.parse(r.stdout) as Report
      assert.equal(report.ok, false)
      // cut mid-statement, the restore itself fails on it; cut between statements, psql loads it and the probe finds it
      const n8n = cut === 'half' ? report.restoreError : report.services.flatMap((s) => s.checks).find((c) => c.check === 'database n8n' && !c.ok)?.detail
      assert.match(n8n ?? '', cut === 'half' ? /database n8n/ : /dump in the archive is incomplete/, r.stdout)
      t.diagnostic(`caught by: ${n8n}`)
      assert.ok(report.services.filter((s) => s.service !== 'postgres').every((s) => s.ok), 'the rest passed')
      assert.deepEqual(platformState(), before)
      assert.deepEqual(drillObjects(), [])
      const entry = JSON.parse(repo.read('.stackyard/backups.json')).entries.find((e: { archive: string }) => e.archive === basename(bad))
      assert.equal(entry.verifyOk, false)
    })

  test('Ctrl-C in the middle of a drill: exit 130, everything it made removed, the platform untouched', async () => {
    const before = platformState()
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', CI: '1' }
    delete env.NODE_OPTIONS
    // its own process group, signalled as a terminal signals it: the task and its docker children alike
    const [cmd, ...argv] = taskCommand(repo.root, 'backup.ts', ['--verify', archive])
    const child = spawn(cmd, argv, { cwd: repo.root, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.resume()
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)))
    // once the drill has a container of its own (polling the engine, not the clock), interrupt it
    let started = false
    for (let i = 0; i < 600 && !started && child.exitCode === null; i++) {
      started = docker(['ps', '-a', '-q', '--filter', 'label=io.stackyard.verify']).stdout.trim() !== ''
      if (!started) await new Promise((r) => setTimeout(r, 250))
    }
    assert.ok(started, `the drill made a container: ${stderr}`)
    process.kill(-child.pid!, 'SIGINT')
    assert.equal(await exited, 130, stderr)
    assert.deepEqual(drillObjects(), [], 'nothing of the drill is left')
    assert.deepEqual(readdirSync(join(repo.root, '.stackyard')).filter((f) => f.startsWith('verify-') || f.startsWith('restore-')), [], 'no private folder left')
    assert.deepEqual(platformState(), before)
  })

  test('exit 2: no such archive; an --encrypt archive with the wrong passphrase (before anything is made)', async () => {
    const missing = await repo.run('backup.ts', ['--verify', join(repo.root, 'backups', 'nope.tar.gz')])
    assert.equal(missing.code, 2, missing.stdout + missing.stderr)
    const b = await repo.run('backup.ts', ['--json', '--encrypt'], { env: { STACKYARD_BACKUP_PASSPHRASE: PASSPHRASE } })
    assert.equal(b.code, 0, b.stdout + b.stderr)
    const wrong = await repo.run('backup.ts', ['--verify', JSON.parse(b.stdout).archive], { env: { STACKYARD_BACKUP_PASSPHRASE: 'not it at all, no' } })
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr)
    assert.match(wrong.stderr, /passphrase is wrong/)
    assert.deepEqual(drillObjects(), [])
  })
}
